// The pretraining corpus: readers, cleaning, each filter, dedup, balance, and
// that the output is a pure function of the inputs.
#include <gtest/gtest.h>

#include <algorithm>

#include "data/corpus.h"
#include "platform/error.h"

namespace edgelm::data {
namespace {

// A little-endian .mo catalogue of (msgid, msgstr) pairs.
std::string make_mo(const std::vector<std::pair<std::string, std::string>>& messages) {
  auto u32 = [](std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += char((v >> (8 * i)) & 0xff);
  };
  const uint32_t n = uint32_t(messages.size());
  const uint32_t originals = 28, translations = originals + 8 * n;
  uint32_t offset = translations + 8 * n;
  std::string head, tables_o, tables_t, strings;
  for (const auto& [id, str] : messages) {
    u32(tables_o, uint32_t(id.size()));
    u32(tables_o, offset + uint32_t(strings.size()));
    strings += id + '\0';
  }
  for (const auto& [id, str] : messages) {
    u32(tables_t, uint32_t(str.size()));
    u32(tables_t, offset + uint32_t(strings.size()));
    strings += str + '\0';
  }
  u32(head, 0x950412de);
  u32(head, 0);
  u32(head, n);
  u32(head, originals);
  u32(head, translations);
  u32(head, 0);
  u32(head, 0);
  return head + tables_o + tables_t + strings;
}

std::vector<std::string> texts(const std::vector<Segment>& segments) {
  std::vector<std::string> out;
  for (const auto& s : segments) out.push_back(s.text);
  return out;
}

TEST(CorpusSources, MoCatalogueGivesOriginalsAndTranslations) {
  std::string mo = make_mo({{"", "Content-Type: text/plain; charset=UTF-8\n"},
                            {"Remove the file", "파일을 지웁니다"},
                            {"menu\x04Open", "열기"},
                            {std::string("one file\0%d files", 17), std::string("파일 %d개", 12)},
                            {"Same", "Same"}});
  EXPECT_EQ(texts(read_mo_segments(mo, "t.mo", "pkg")),
            (std::vector<std::string>{"Remove the file", "파일을 지웁니다", "Open", "열기", "one file", "파일 %d개", "Same"}));
}

TEST(CorpusSources, MalformedMoIsAnErrorNamingTheFile) {
  EXPECT_THROW(read_mo_segments("short", "a.mo", "p"), Error);
  std::string mo = make_mo({{"Hello", "안녕"}});
  std::string bad_magic = mo;
  bad_magic[0] = 'X';
  try {
    read_mo_segments(bad_magic, "b.mo", "p");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.mo: not a .mo catalogue"), std::string::npos) << e.what();
  }
  // A string offset past the end of the file.
  std::string cut = mo.substr(0, mo.size() - 4);
  EXPECT_THROW(read_mo_segments(cut, "c.mo", "p"), Error);
  // A table that claims more entries than the file holds.
  std::string many = mo;
  many[8] = char(0xff);
  many[9] = char(0xff);
  EXPECT_THROW(read_mo_segments(many, "d.mo", "p"), Error);
}

TEST(CorpusSources, WordNetGlossesAndExamples) {
  std::string data =
      "  1 This software and database is being provided to you, the LICENSEE, by  \n"
      "00592652 04 n 02 generalship 0 generalcy 0 003 @ 00586262 n 0000 | the office and authority of a general  \n"
      "00001740 00 a 01 able(a) 0 005 = 05207437 n 0000 | (usually followed by `to') having the necessary means; "
      "\"she was able to program her computer\"; \"we were at last able to buy a car\"  \n";
  EXPECT_EQ(texts(read_wordnet_segments(data, "data.noun", "wordnet")),
            (std::vector<std::string>{"generalship, generalcy: the office and authority of a general",
                                      "she was able to program her computer", "we were at last able to buy a car",
                                      "able: (usually followed by `to') having the necessary means"}));
  EXPECT_THROW(read_wordnet_segments("00001 00 n 01 word 0 000 no gloss\n", "data.noun", "w"), Error);
  EXPECT_THROW(read_wordnet_segments("00001 00 n zz word 0 | gloss\n", "data.noun", "w"), Error);
  EXPECT_THROW(read_wordnet_segments("00001 00 n 05 word 0 | gloss\n", "data.noun", "w"), Error);
}

TEST(CorpusSources, HtmlBlocksTagsAndEntities) {
  std::string html =
      "<html><head><title>Skipped</title><style>p{}</style></head><body>"
      "<h1>제목입니다</h1><p>One <b>bold</b> &amp; &#54620;&#xAE00; word&nbsp;here.<br>Next line</p>"
      "<script>var x = '<p>no</p>';</script><!-- <p>comment</p> --><ul><li>Item a < b</li></ul></body></html>";
  EXPECT_EQ(texts(read_html_segments(html, "s")),
            (std::vector<std::string>{"제목입니다", "One bold & 한글 word here.", "Next line", "Item a < b"}));
  // A tag cut off at the end is dropped, the text before it kept.
  EXPECT_EQ(texts(read_html_segments("<p>Kept text<a href=", "s")), (std::vector<std::string>{"Kept text"}));
}

TEST(CorpusSources, TextParagraphs) {
  EXPECT_EQ(texts(read_text_segments("First line\nsame paragraph\n\n  \nSecond\n", "s")),
            (std::vector<std::string>{"First line same paragraph", "Second"}));
}

TEST(CorpusSources, InputListIsSortedAndChecked) {
  auto list = parse_corpus_inputs("# comment\nmo\tzeta\tb.mo\nhtml\talpha\tx.html\r\nmo\tzeta\ta.mo\n", "inputs.tsv");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].path, "x.html");
  EXPECT_EQ(list[1].path, "a.mo");
  EXPECT_EQ(list[2].path, "b.mo");
  try {
    parse_corpus_inputs("pdf\tp\tx.pdf\n", "inputs.tsv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inputs.tsv line 1: unknown format 'pdf'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_corpus_inputs("mo\tonly-two\n", "inputs.tsv"), Error);
}

TEST(CorpusFilter, CleanSegment) {
  EXPECT_EQ(clean_segment("  Open\n\tthe   file  "), "Open the file");
  EXPECT_EQ(clean_segment("_Open the file"), "Open the file");
  EXPECT_EQ(clean_segment("파일 열기(_O)..."), "파일 열기...");
  EXPECT_EQ(clean_segment("&Save the document"), "Save the document");
  EXPECT_EQ(clean_segment("R&D and snake_case stay"), "R&D and snake_case stay");
}

TEST(CorpusFilter, EachReason) {
  CorpusOptions o;
  EXPECT_EQ(segment_problem("The filter keeps this ordinary sentence.", o), "");
  EXPECT_EQ(segment_problem("LibreOffice에서 파일을 저장하는 방법을 설명합니다.", o), "");
  EXPECT_EQ(segment_problem("Too short", o), "too_short");
  EXPECT_EQ(segment_problem(std::string(700, 'a'), o), "too_long");
  EXPECT_EQ(segment_problem("Supercalifragilistic", o), "few_words");
  EXPECT_EQ(segment_problem("Cannot open the file %s for reading", o), "format_string");
  EXPECT_EQ(segment_problem("Cannot open the file {0} for reading", o), "format_string");
  EXPECT_EQ(segment_problem("Copied %1$d of the files to the disk", o), "format_string");
  EXPECT_EQ(segment_problem("About half of them (50% of all) agreed here", o), "");
  EXPECT_EQ(segment_problem("Press <b>OK</b> to continue the setup", o), "markup");
  EXPECT_EQ(segment_problem("This program comes with ABSOLUTELY NO WARRANTY.", o), "boilerplate");
  EXPECT_EQ(segment_problem("이 프로그램의 저작권은 자유 소프트웨어 재단에 있습니다", o), "boilerplate");
  EXPECT_EQ(segment_problem("Report bugs to the list at bugs@example.org now", o), "boilerplate");
  EXPECT_EQ(segment_problem("Use --all to list the hidden entries too", o), "code");
  EXPECT_EQ(segment_problem("Set the value of max_count before the run", o), "code");
  EXPECT_EQ(segment_problem("### *** ~~~ +++ ... !!! ??? 123", o), "symbols");
  EXPECT_EQ(segment_problem("Это предложение написано по-русски здесь", o), "script");
  EXPECT_EQ(segment_problem("这是 一个 中文 句子 里面 有很多 汉字", o), "script");
  EXPECT_EQ(segment_problem(std::string("bad \xff byte in the text here"), o), "invalid_utf8");
  EXPECT_EQ(segment_problem("a tab\there between the words", o), "control");
}

TEST(CorpusFilter, SplitLongSegmentsAtSentenceEnds) {
  std::string a(30, 'a'), b(30, 'b'), c(30, 'c');
  std::string text = a + ". " + b + "? " + c + "!";
  EXPECT_EQ(split_long_segment(text, 70), (std::vector<std::string>{a + ". " + b + "?", c + "!"}));
  EXPECT_EQ(split_long_segment(text, 1000), (std::vector<std::string>{text}));
}

TEST(CorpusFilter, DedupKeyIgnoresCaseDigitsAndPunctuation) {
  EXPECT_EQ(dedup_key("Open the file."), dedup_key("open  the FILE"));
  EXPECT_EQ(dedup_key("Copied 3 files."), dedup_key("copied 7 files"));  // digits as '0'
  EXPECT_NE(dedup_key("Copied 3 files."), dedup_key("copied 12 files"));  // a longer number is another text
  EXPECT_NE(dedup_key("Open the file"), dedup_key("Open the files"));
  EXPECT_EQ(dedup_key("파일을 엽니다."), dedup_key("파일을 엽니다"));
}

std::vector<Segment> sample_segments() {
  return {{"The quick brown fox jumps over the lazy dog.", "en-a"},
          {"The quick brown fox jumps over the lazy dog.", "en-b"},   // exact duplicate
          {"the QUICK brown fox jumps over the lazy dog", "en-b"},    // near duplicate
          {"A second English sentence that is long enough.", "en-a"},
          {"Yet another English sentence, the third one here.", "en-b"},
          {"A fourth sentence in English closes the sample set.", "en-a"},
          {"파일을 열어서 내용을 확인하고 저장합니다.", "ko-a"},
          {"두 번째 한국어 문장은 조금 더 길게 씁니다.", "ko-b"},
          {"Cannot open %s for writing right now", "en-a"},
          {"short", "ko-a"}};
}

TEST(CorpusBuild, DedupsFiltersAndCounts) {
  CorpusOptions o;
  o.max_source_share = 1.0;
  Corpus c = build_corpus(sample_segments(), o);
  EXPECT_EQ(c.by_source["en-b"].dropped["duplicate"], 1);
  EXPECT_EQ(c.by_source["en-b"].dropped["near_duplicate"], 1);
  EXPECT_EQ(c.by_source["en-a"].dropped["format_string"], 1);
  EXPECT_EQ(c.by_source["ko-a"].dropped["too_short"], 1);
  int64_t ko_candidates = c.candidate_bytes_by_language["ko"];
  EXPECT_GT(ko_candidates, 0);
  // Balanced: English gets at most the Korean bytes; the rest is dropped as "balance".
  EXPECT_EQ(c.bytes_by_language["ko"], ko_candidates);
  EXPECT_LE(c.bytes_by_language["en"], ko_candidates);
  EXPECT_GT(c.bytes_by_language["en"], 0);
  int64_t balanced_out = 0;
  for (auto& [name, s] : c.by_source) balanced_out += s.dropped["balance"];
  EXPECT_GT(balanced_out, 0);
  for (const auto& e : c.entries) {
    EXPECT_TRUE(e.language == "en" || e.language == "ko");
    EXPECT_EQ(e.language == "ko", e.source.rfind("ko-", 0) == 0) << e.text;
  }
}

TEST(CorpusBuild, SourceShareCapsOneSource) {
  std::vector<Segment> segs;
  for (int i = 0; i < 40; ++i) segs.push_back({"English sentence number " + std::string(size_t(i + 1), 'x') + " is here", i < 30 ? "big" : "small"});
  CorpusOptions o;
  o.languages = {"en"};
  o.max_bytes_per_language = 800;
  o.max_source_share = 0.5;
  Corpus c = build_corpus(segs, o);
  EXPECT_LE(c.bytes_by_language["en"], 800);
  // The small source fits under the cap whole... the big one is held to half while the small one has text left.
  EXPECT_LE(c.by_source["big"].bytes_kept, 800);
  EXPECT_GT(c.by_source["small"].kept, 0);
}

TEST(CorpusBuild, DeterministicAndOrderIndependentOutput) {
  CorpusOptions o;
  std::vector<Segment> segs = sample_segments();
  std::string first = corpus_jsonl(build_corpus(segs, o));
  EXPECT_EQ(first, corpus_jsonl(build_corpus(segs, o)));
  // Moving unique segments around does not change the output (which copy of a
  // duplicate wins may, so those stay first).
  std::vector<Segment> moved(segs.begin(), segs.begin() + 3);
  moved.insert(moved.end(), segs.rbegin(), segs.rend() - 3);
  EXPECT_EQ(first, corpus_jsonl(build_corpus(moved, o)));
  EXPECT_NE(first.find("\"lang\":\"ko\""), std::string::npos);
}

TEST(CorpusBuild, UnknownLanguageIsAnError) {
  CorpusOptions o;
  o.languages = {"en", "xx"};
  EXPECT_THROW(build_corpus(sample_segments(), o), Error);
}

}  // namespace
}  // namespace edgelm::data
