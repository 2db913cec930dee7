#pragma once
// An answer followed while it is decoded, for the agent's observer
// (AnswerObserver): the calls as soon as the calls part is complete, then
// the reply in pieces that are final. A piece is final when no later token
// can change it: a placeholder is filled only once its token is whole, and
// since the reply's language (which a placeholder's words may depend on) is
// decided by the whole reply, a piece is sent only as far as every language
// would fill it alike. So the pieces add up to exactly the reply that
// Device::fill_placeholders gives the finished answer.
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.h"

namespace edgelm {

class AnswerStream {
 public:
  // `follow`: the text is watched while it is decoded (constrained decoding,
  // whose calls part ends at its first space outside quotes); otherwise all
  // comes at finish().
  AnswerStream(const DomainSchema& schema, Device& device, const AnswerObserver& observer, bool follow);

  // The answer's text so far (special tokens spelled out).
  void update(const std::string& text);
  // The finished answer (calls parsed, reply not filled yet): executes its
  // calls unless update() already did, fills the reply and sends the rest.
  void finish(AgentAnswer& answer);

 private:
  void send_reply(const std::string& raw_reply, bool last);
  const DomainSchema& schema_;
  Device& device_;
  const AnswerObserver& observer_;
  bool follow_;
  bool calls_sent_ = false;
  std::vector<Call> calls_;        // as sent
  std::string call_error_;         // a call the device rejected
  std::string sent_;               // the reply as sent so far
};

// Where the calls part of an answer's text ends (the separating space), or
// npos while it is not complete. Values hold no space unless quoted.
size_t answer_calls_end(std::string_view text);

// The longest prefix of `s` that ends at a whole UTF-8 character.
size_t utf8_whole_prefix(std::string_view s);

}  // namespace edgelm
