#include <bpfq/tc/tc_line.hpp>

#include <charconv>
#include <sstream>

#include <bpfq/error.hpp>

namespace bpfq::tc {

Error on_line(const Error& e, const std::string& where) {
  return Error(e.reason(), e.where().empty() ? where : where + ": " + e.where(), e.hint());
}

TcLine::TcLine(std::vector<std::string> words, std::string where)
    : words_(std::move(words)), where_(std::move(where)) {}

TcLine TcLine::split(const std::string& text, std::string where) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    if (w[0] == '#') break;
    words.push_back(w);
  }
  return TcLine(std::move(words), std::move(where));
}

bool TcLine::accept(std::string_view word) {
  if (done() || words_[pos_] != word) return false;
  ++pos_;
  return true;
}

std::string TcLine::take(std::string_view expected) {
  if (done()) unexpected(expected);
  return words_[pos_++];
}

void TcLine::expect(std::string_view word) {
  if (!accept(word)) unexpected("'" + std::string(word) + "'");
}

sched::Handle TcLine::take_handle(std::string_view expected) {
  const std::string word = take(expected);
  const bool hex_major_minor = word.find(':') != std::string::npos;
  if (!hex_major_minor) bad_previous(expected);
  try {
    return sched::Handle::parse(word);
  } catch (const Error&) {
    bad_previous(expected);
  }
}

uint64_t TcLine::take_number(std::string_view expected, uint64_t max) {
  const std::string word = take(expected);
  uint64_t v = 0;
  const bool hex = word.size() > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X');
  const char* first = word.data() + (hex ? 2 : 0);
  const char* last = word.data() + word.size();
  auto [p, ec] = std::from_chars(first, last, v, hex ? 16 : 10);
  if (ec != std::errc() || p != last || v > max) bad_previous(expected);
  return v;
}

void TcLine::expect_end(std::string_view expected) {
  if (!done()) unexpected(expected);
}

std::string TcLine::remaining_text() const {
  std::string s;
  for (size_t i = pos_; i < words_.size(); ++i) s += (s.empty() ? "" : " ") + words_[i];
  return s;
}

std::vector<std::string> TcLine::take_rest() {
  std::vector<std::string> rest(words_.begin() + static_cast<std::ptrdiff_t>(pos_), words_.end());
  pos_ = words_.size();
  return rest;
}

std::string TcLine::context(size_t i) const {
  if (i == 0) return "";
  const size_t from = i >= 2 ? i - 2 : 0;
  std::string s;
  for (size_t k = from; k < i; ++k) s += (s.empty() ? "" : " ") + words_[k];
  return " after '" + s + "'";
}

void TcLine::unexpected(std::string_view expected) const {
  if (done()) {
    const std::string after = context(pos_);
    fail("expected " + std::string(expected) + (after.empty() ? " (the line is empty)" : after));
  }
  fail("unexpected '" + words_[pos_] + "'" + context(pos_) + ": expected " + std::string(expected));
}

void TcLine::bad_previous(std::string_view expected) const {
  const size_t i = pos_ - 1;
  fail("unexpected '" + words_[i] + "'" + context(i) + ": expected " + std::string(expected));
}

void TcLine::fail(const std::string& what, const std::string& hint) const { throw Error(what, where_, hint); }

}  // namespace bpfq::tc
