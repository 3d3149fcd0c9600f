// Text ops: the shared vectors of core/testdata/ot (the TypeScript suite runs the same files),
// invalid UTF-8 (which JSON files cannot carry), and seeded property tests of the OT laws.
// FUN_NOTES_OT_SEED and FUN_NOTES_OT_CASES pick another seed or more cases per property.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fun_notes/core/codec.hpp"
#include "fun_notes/core/text_op.hpp"
#include "vector_names.hpp"

namespace fun_notes::core {

// GoogleTest prints an op in failure messages through this.
void PrintTo(const text_op& op, std::ostream* os) {
  *os << boost::json::serialize(to_json(op));
}

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Shared vectors

struct ot_case {
  std::string file;
  std::string name;
  json::object body;
  std::string load_error;
  std::size_t index = 0;
};

void PrintTo(const ot_case& c, std::ostream* os) {
  *os << c.file << ": " << c.name;
}

std::string case_name(const ot_case& c) {
  return vector_test_name(fs::path{c.file}.stem().string(), c.index, c.name);
}

std::vector<ot_case> load_ot_cases() {
  std::vector<ot_case> cases;
  for (const auto& [file, text] : vector_files(fs::path{FUN_NOTES_TESTDATA_DIR} / "ot")) {
    const auto doc = parse_json(text);
    const json::object* root = doc.ok() ? doc->if_object() : nullptr;
    const json::value* type = root != nullptr ? root->if_contains("type") : nullptr;
    const json::value* list = root != nullptr ? root->if_contains("cases") : nullptr;
    if (type == nullptr || *type != "text_op" || list == nullptr || !list->is_array() ||
        list->as_array().empty()) {
      cases.push_back({file, "load", {}, "needs \"type\": \"text_op\" and non-empty \"cases\""});
      continue;
    }
    std::size_t index = 0;
    for (const auto& c : list->as_array()) {
      const json::value* name = c.is_object() ? c.as_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string()) {
        cases.push_back({file, "load", {}, "a case without a string \"name\""});
        continue;
      }
      cases.push_back({file, std::string{name->as_string()}, c.as_object(), "", index++});
    }
  }
  return cases;
}

const std::vector<ot_case>& all_ot_cases() {
  static const std::vector<ot_case> cases = load_ot_cases();
  return cases;
}

std::string str(const json::object& c, std::string_view key) {
  return std::string{c.at(key).as_string()};
}

limits limits_of(const json::object& c) {
  limits lim;
  if (const json::value* l = c.if_contains("limits")) {
    const json::object& o = l->as_object();
    if (const json::value* n = o.if_contains("max_text_op_components")) {
      lim.max_text_op_components = n->to_number<std::size_t>();
    }
    if (const json::value* n = o.if_contains("max_body_bytes")) {
      lim.max_body_bytes = n->to_number<std::size_t>();
    }
  }
  return lim;
}

// An input op of a vector; it must read, and its normal form is what the vector compares.
text_op op_of(const json::object& c, std::string_view key) {
  const auto op = parse_text_op(c.at(key));
  EXPECT_TRUE(op.ok()) << key << ": " << op.err().message;
  return op.ok() ? *op : text_op{};
}

// An expected op is written in normal form: it must read back as itself.
void expect_op(const text_op& got, const json::object& c, std::string_view key) {
  const json::value& want = c.at(key);
  EXPECT_EQ(json::serialize(to_json(got)), json::serialize(want)) << key;
  const auto reread = parse_text_op(want);
  ASSERT_TRUE(reread.ok()) << key << " does not read: " << reread.err().message;
  EXPECT_EQ(json::serialize(to_json(*reread)), json::serialize(want))
      << key << " is not in normal form";
}

template <class T>
void expect_error(const result<T>& r, const json::object& c) {
  ASSERT_FALSE(r.ok()) << "succeeded where the vector expects " << c.at("error");
  EXPECT_EQ(r.err().code, c.at("error").as_string()) << r.err().message;
  if (const json::value* message = c.if_contains("message")) {
    EXPECT_EQ(r.err().message, message->as_string());
  }
}

void run_parse(const json::object& c) {
  json::value input;
  if (const json::value* text = c.if_contains("json")) {
    const auto parsed = parse_json(text->as_string());
    if (!parsed.ok()) {
      // Boost.JSON refuses lone surrogates in the JSON text itself; the code is the same.
      ASSERT_TRUE(c.contains("error")) << parsed.err().message;
      EXPECT_EQ(c.at("error"), "invalid");
      return;
    }
    input = *parsed;
  } else {
    input = c.at("input");
  }
  const auto op = parse_text_op(input, limits_of(c));
  if (c.contains("error")) {
    expect_error(op, c);
    return;
  }
  ASSERT_TRUE(op.ok()) << op.err().message;
  expect_op(*op, c, "output");
  EXPECT_EQ(op->base_length(), c.at("base_length").to_number<std::size_t>());
  EXPECT_EQ(op->target_length(), c.at("target_length").to_number<std::size_t>());
}

void run_apply(const json::object& c) {
  const auto got = apply_text_op(op_of(c, "ops"), str(c, "text"));
  if (c.contains("error")) {
    expect_error(got, c);
    return;
  }
  ASSERT_TRUE(got.ok()) << got.err().message;
  EXPECT_EQ(*got, str(c, "expected"));
}

void run_compose(const json::object& c) {
  const text_op a = op_of(c, "a");
  const text_op b = op_of(c, "b");
  const auto ab = compose(a, b);
  if (c.contains("error")) {
    expect_error(ab, c);
    return;
  }
  ASSERT_TRUE(ab.ok()) << ab.err().message;
  expect_op(*ab, c, "expected");
  const std::string text = str(c, "text");
  const auto after_a = apply_text_op(a, text);
  ASSERT_TRUE(after_a.ok()) << after_a.err().message;
  const auto after_b = apply_text_op(b, *after_a);
  ASSERT_TRUE(after_b.ok()) << after_b.err().message;
  const auto at_once = apply_text_op(*ab, text);
  ASSERT_TRUE(at_once.ok()) << at_once.err().message;
  EXPECT_EQ(*after_b, str(c, "result"));
  EXPECT_EQ(*at_once, str(c, "result"));
}

void run_transform(const json::object& c) {
  const text_op a = op_of(c, "a");
  const text_op b = op_of(c, "b");
  const auto primes = transform(a, b, c.at("a_first_on_tie").as_bool());
  if (c.contains("error")) {
    expect_error(primes, c);
    return;
  }
  ASSERT_TRUE(primes.ok()) << primes.err().message;
  expect_op(primes->first, c, "a_prime");
  expect_op(primes->second, c, "b_prime");
  const std::string text = str(c, "text");
  const auto via_a = apply_text_op(a, text);
  const auto via_b = apply_text_op(b, text);
  ASSERT_TRUE(via_a.ok() && via_b.ok());
  const auto a_then_b = apply_text_op(primes->second, *via_a);
  const auto b_then_a = apply_text_op(primes->first, *via_b);
  ASSERT_TRUE(a_then_b.ok()) << a_then_b.err().message;
  ASSERT_TRUE(b_then_a.ok()) << b_then_a.err().message;
  EXPECT_EQ(*a_then_b, str(c, "result"));
  EXPECT_EQ(*b_then_a, str(c, "result"));
}

void run_invert(const json::object& c) {
  const text_op op = op_of(c, "ops");
  const std::string text = str(c, "text");
  const auto inverse = invert(op, text);
  if (c.contains("error")) {
    expect_error(inverse, c);
    return;
  }
  ASSERT_TRUE(inverse.ok()) << inverse.err().message;
  expect_op(*inverse, c, "expected");
  const auto done = apply_text_op(op, text);
  ASSERT_TRUE(done.ok()) << done.err().message;
  const auto undone = apply_text_op(*inverse, *done);
  ASSERT_TRUE(undone.ok()) << undone.err().message;
  EXPECT_EQ(*undone, text);
}

void run_transform_index(const json::object& c) {
  const text_op op = op_of(c, "ops");
  for (const auto& check : c.at("checks").as_array()) {
    const json::array& t = check.as_array();
    const auto index = t.at(0).to_number<std::size_t>();
    const bool is_own = t.at(1).as_bool();
    EXPECT_EQ(transform_index(op, index, is_own), t.at(2).to_number<std::size_t>())
        << "index " << index << (is_own ? ", own" : ", not own");
  }
}

class text_op_vectors : public testing::TestWithParam<ot_case> {};

TEST_P(text_op_vectors, Passes) {
  const ot_case& c = GetParam();
  ASSERT_TRUE(c.load_error.empty()) << c.file << ": " << c.load_error;
  SCOPED_TRACE(c.file + ": " + c.name);
  const std::string fn = str(c.body, "fn");
  if (fn == "parse") {
    run_parse(c.body);
  } else if (fn == "apply") {
    run_apply(c.body);
  } else if (fn == "compose") {
    run_compose(c.body);
  } else if (fn == "transform") {
    run_transform(c.body);
  } else if (fn == "invert") {
    run_invert(c.body);
  } else if (fn == "transform_index") {
    run_transform_index(c.body);
  } else {
    FAIL() << "unknown fn \"" << fn << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(core_testdata_ot, text_op_vectors, testing::ValuesIn(all_ot_cases()),
                         [](const testing::TestParamInfo<ot_case>& info) {
                           return case_name(info.param);
                         });

TEST(TextOpVectors, EveryFunctionHasCases) {
  std::map<std::string, int> per_fn;
  for (const ot_case& c : all_ot_cases()) {
    if (c.load_error.empty()) {
      ++per_fn[str(c.body, "fn")];
    }
  }
  for (const char* fn : {"parse", "apply", "compose", "transform", "invert", "transform_index"}) {
    EXPECT_GE(per_fn[fn], 5) << "core/testdata/ot lost its " << fn << " vectors";
  }
}

// ---------------------------------------------------------------------------------------------
// What JSON cannot carry: invalid UTF-8 bytes

text_op parsed(std::string_view wire) {
  auto v = parse_json(wire);
  EXPECT_TRUE(v.ok()) << wire;
  auto op = parse_text_op(v.ok() ? *v : json::value{});
  EXPECT_TRUE(op.ok()) << wire << ": " << (op.ok() ? "" : op.err().message);
  return op.ok() ? *op : text_op{};
}

const std::vector<std::string>& invalid_utf8_samples() {
  static const std::vector<std::string> samples = {
      "\x80",              // a continuation byte alone
      "a\xC3",             // a truncated two-byte sequence
      "\xC0\xAF",          // an overlong '/'
      "\xC1\xBF",          // an overlong two-byte form
      "\xE0\x80\xAF",      // an overlong three-byte '/'
      "\xED\xA0\x80",      // U+D800, a surrogate
      "\xED\xBF\xBF",      // U+DFFF
      "\xF0\x80\x80\xAF",  // an overlong four-byte '/'
      "\xF4\x90\x80\x80",  // U+110000, past Unicode
      "\xF5\x80\x80\x80",  // a lead byte that never occurs
      "\xFF",
      "\xE4\xB8",      // a truncated CJK character
      "\xF0\x9F\x98",  // a truncated emoji
      "\xE4\x41\xAD",  // a three-byte sequence broken by ASCII
  };
  return samples;
}

TEST(Utf8CodePoints, CountsCodePointsOfValidText) {
  EXPECT_EQ(utf8_code_points(""), 0U);
  EXPECT_EQ(utf8_code_points("abc"), 3U);
  EXPECT_EQ(utf8_code_points("\xC3\xA9"), 1U);                      // é
  EXPECT_EQ(utf8_code_points("\xE4\xB8\xAD"), 1U);                  // 中
  EXPECT_EQ(utf8_code_points("\xF0\x9F\x98\x80"), 1U);              // 😀
  EXPECT_EQ(utf8_code_points("\xEF\xBF\xBF\xF4\x8F\xBF\xBF"), 2U);  // U+FFFF, U+10FFFF
  EXPECT_EQ(utf8_code_points("\xED\x9F\xBF\xEE\x80\x80"), 2U);      // U+D7FF, U+E000
  EXPECT_EQ(utf8_code_points(std::string_view{"a\0b", 3}), 3U);     // NUL is a code point
}

TEST(Utf8CodePoints, RejectsInvalidUtf8) {
  for (const std::string& s : invalid_utf8_samples()) {
    EXPECT_FALSE(utf8_code_points(s).has_value()) << testing::PrintToString(s);
  }
}

TEST(ParseTextOp, RejectsAnInsertOfInvalidUtf8) {
  for (const std::string& s : invalid_utf8_samples()) {
    const json::array wire{1, json::string{s}};
    const auto op = parse_text_op(wire);
    ASSERT_FALSE(op.ok()) << testing::PrintToString(s);
    EXPECT_EQ(op.err().code, "invalid");
    EXPECT_EQ(op.err().message, "op.ops[1] is not valid UTF-8");
  }
}

TEST(ApplyTextOp, RejectsTextOfInvalidUtf8) {
  for (const std::string& s : invalid_utf8_samples()) {
    // Whatever the op, the text is refused before its length is compared.
    const auto got = apply_text_op(text_op{}.retain(s.size()), s);
    ASSERT_FALSE(got.ok()) << testing::PrintToString(s);
    EXPECT_EQ(got.err().code, "invalid");
    EXPECT_EQ(got.err().message, "cannot apply: the text is not valid UTF-8");
    const auto inverse = invert(text_op{}.retain(s.size()), s);
    ASSERT_FALSE(inverse.ok());
    EXPECT_EQ(inverse.err().message, "cannot invert: the text is not valid UTF-8");
  }
}

TEST(ParseTextOp, DefaultLimits) {
  json::array ten_thousand;
  for (int i = 0; i < 5000; ++i) {
    ten_thousand.emplace_back(1);
    ten_thousand.emplace_back("x");
  }
  const auto ok = parse_text_op(ten_thousand);
  ASSERT_TRUE(ok.ok()) << ok.err().message;
  EXPECT_EQ(ok->components().size(), 10000U);
  ten_thousand.emplace_back(1);
  const auto over = parse_text_op(ten_thousand);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.err().message, "op.ops has more than 10000 components");

  const json::array body_sized{json::string(64 * 1024, 'a')};
  EXPECT_TRUE(parse_text_op(body_sized).ok());
  const json::array over_body{json::string(64 * 1024, 'a'), "b"};
  const auto too_big = parse_text_op(over_body);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.err().code, "too_large");
}

TEST(TextOpBuilder, KeepsTheNormalForm) {
  text_op op;
  op.retain(0).insert("").remove(0);
  EXPECT_TRUE(op.components().empty());
  op.retain(1).retain(2).remove(1).insert("a").remove(2).insert("\xC3\xA9").retain(1);
  EXPECT_EQ(json::serialize(to_json(op)), "[3,\"a\xC3\xA9\",-3,1]");
  EXPECT_EQ(op.base_length(), 7U);
  EXPECT_EQ(op.target_length(), 6U);
  EXPECT_FALSE(op.is_noop());
  EXPECT_TRUE(text_op{}.retain(4).is_noop());
  EXPECT_TRUE(text_op{}.is_noop());
}

TEST(TextOpToJson, WritesInsertsAsUtf8) {
  // Boost.JSON escapes nothing but controls, quotes and backslashes, as JSON.stringify does;
  // the byte-for-byte comparison of the vectors relies on it.
  const text_op op = parsed(R"([1,"é😀\n\"",-2])");
  EXPECT_EQ(json::serialize(to_json(op)), "[1,\"\xC3\xA9\xF0\x9F\x98\x80\\n\\\"\",-2]");
}

// ---------------------------------------------------------------------------------------------
// Property tests

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return fallback;
  }
  return std::strtoull(v, nullptr, 10);
}

std::uint64_t seed() {
  return env_number("FUN_NOTES_OT_SEED", 20260301);
}
std::size_t case_count() {
  return env_number("FUN_NOTES_OT_CASES", 1000);
}

// One code point per entry, of every UTF-8 length, with the pieces of grapheme clusters
// (skin tones, regional indicators, ZWJ, a combining mark) on their own.
const std::vector<std::string>& alphabet() {
  static const std::vector<std::string> letters = {
      "a",
      "b",
      "c",
      " ",
      "\n",
      "\xC3\xA9",          // é
      "\xC3\x9F",          // ß
      "\xCC\x81",          // U+0301 combining acute
      "\xE4\xB8\xAD",      // 中
      "\xE6\x96\x87",      // 文
      "\xE2\x80\x8D",      // U+200D ZWJ
      "\xF0\x9F\x98\x80",  // 😀
      "\xF0\x9F\x91\x8D",  // 👍
      "\xF0\x9F\x8F\xBD",  // U+1F3FD skin tone
      "\xF0\x9F\x87\xAB",  // regional indicator F
      "\xF0\x9F\x87\xB7",  // regional indicator R
  };
  return letters;
}

class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_);
  }

  std::string text(std::size_t max_code_points) {
    std::string out;
    const std::size_t n = below(max_code_points + 1);
    for (std::size_t i = 0; i < n; ++i) {
      out += alphabet()[below(alphabet().size())];
    }
    return out;
  }

  // A random op over a text of `length` code points, built through the normalizing appenders.
  text_op op(std::size_t length) {
    text_op out;
    std::size_t left = length;
    while (left > 0 || below(3) == 0) {
      const std::size_t choice = below(left > 0 ? 3 : 1);
      if (choice == 0) {
        out.insert(text(4) + alphabet()[below(alphabet().size())]);
        if (left == 0) {
          break;
        }
      } else {
        const std::size_t n = 1 + below(std::min<std::size_t>(left, 5));
        if (choice == 1) {
          out.retain(n);
        } else {
          out.remove(n);
        }
        left -= n;
      }
    }
    return out;
  }

  // Raw wire components over `length` code points: neighbours of one kind and removes before
  // inserts on purpose, so that reading them exercises the normalization.
  json::array wire(std::size_t length) {
    json::array out;
    std::size_t left = length;
    while (left > 0 || below(3) == 0) {
      const std::size_t choice = below(left > 0 ? 3 : 1);
      if (choice == 0) {
        out.emplace_back(text(2) + alphabet()[below(alphabet().size())]);
        if (left == 0) {
          break;
        }
      } else {
        const auto n = static_cast<std::int64_t>(1 + below(std::min<std::size_t>(left, 4)));
        out.emplace_back(choice == 1 ? n : -n);
        left -= static_cast<std::size_t>(n);
      }
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

std::size_t length_of(const std::string& s) {
  return utf8_code_points(s).value();
}

std::string must_apply(const text_op& op, const std::string& text) {
  auto r = apply_text_op(op, text);
  EXPECT_TRUE(r.ok()) << r.err().message;
  return r.ok() ? *r : std::string{};
}

// The normal form, checked from its definition.
testing::AssertionResult is_normal(const text_op& op) {
  using kind = text_component::kind;
  const auto& c = op.components();
  std::size_t base = 0;
  std::size_t target = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i].count == 0 || (c[i].type == kind::insert) != !c[i].text.empty()) {
      return testing::AssertionFailure() << "empty component " << i;
    }
    if (c[i].type == kind::insert && utf8_code_points(c[i].text) != c[i].count) {
      return testing::AssertionFailure() << "wrong count at " << i;
    }
    if (i > 0 && c[i].type == c[i - 1].type) {
      return testing::AssertionFailure() << "unmerged neighbours at " << i;
    }
    if (i > 0 && c[i].type == kind::insert && c[i - 1].type == kind::remove) {
      return testing::AssertionFailure() << "a remove before an insert at " << i;
    }
    base += c[i].type == kind::insert ? 0 : c[i].count;
    target += c[i].type == kind::remove ? 0 : c[i].count;
  }
  if (base != op.base_length() || target != op.target_length()) {
    return testing::AssertionFailure() << "lengths do not add up";
  }
  return testing::AssertionSuccess();
}

// A model of apply on decoded code points, component by component as sent, with no
// normalization: what reading and applying the wire form must amount to.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0U) == 0x80U) {
      ++n;
    }
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string model_apply(const json::array& wire, const std::string& text) {
  const std::vector<std::string> points = code_points(text);
  std::string out;
  std::size_t at = 0;
  for (const json::value& c : wire) {
    if (c.is_string()) {
      out += c.as_string();
    } else if (c.as_int64() > 0) {
      for (std::int64_t k = 0; k < c.as_int64(); ++k) {
        out += points.at(at++);
      }
    } else {
      at += static_cast<std::size_t>(-c.as_int64());
    }
  }
  return out;
}

// Names the seed and the case in a failure, so that it can be replayed.
std::string trace(std::size_t i) {
  return "FUN_NOTES_OT_SEED=" + std::to_string(seed()) + ", case " + std::to_string(i);
}

TEST(TextOpProperties, ReadingNormalizesAndApplyMatchesTheModel) {
  generator gen{seed()};
  for (std::size_t i = 0; i < case_count(); ++i) {
    SCOPED_TRACE(trace(i));
    const std::string s = gen.text(12);
    const json::array wire = gen.wire(length_of(s));
    const auto op = parse_text_op(wire);
    ASSERT_TRUE(op.ok()) << json::serialize(wire) << ": " << op.err().message;
    ASSERT_TRUE(is_normal(*op)) << json::serialize(wire);
    EXPECT_EQ(must_apply(*op, s), model_apply(wire, s)) << json::serialize(wire);
    // The normal form is a fixed point of reading.
    const auto again = parse_text_op(to_json(*op));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *op);
  }
}

TEST(TextOpProperties, TransformConverges) {
  generator gen{seed() + 1};
  for (std::size_t i = 0; i < case_count(); ++i) {
    SCOPED_TRACE(trace(i));
    const std::string s = gen.text(10);
    const text_op a = gen.op(length_of(s));
    const text_op b = gen.op(length_of(s));
    for (const bool a_first : {false, true}) {
      const auto primes = transform(a, b, a_first);
      ASSERT_TRUE(primes.ok()) << primes.err().message;
      const auto& [a_prime, b_prime] = *primes;
      ASSERT_TRUE(is_normal(a_prime));
      ASSERT_TRUE(is_normal(b_prime));
      EXPECT_EQ(must_apply(b_prime, must_apply(a, s)), must_apply(a_prime, must_apply(b, s)))
          << "a " << testing::PrintToString(a) << ", b " << testing::PrintToString(b)
          << ", a first " << a_first;
      // Swapping the arguments and the priority swaps the results: both sides of a conflict
      // compute the same pair.
      const auto swapped = transform(b, a, !a_first);
      ASSERT_TRUE(swapped.ok());
      EXPECT_EQ(swapped->first, b_prime);
      EXPECT_EQ(swapped->second, a_prime);
    }
  }
}

TEST(TextOpProperties, ComposeEqualsApplyingBoth) {
  generator gen{seed() + 2};
  for (std::size_t i = 0; i < case_count(); ++i) {
    SCOPED_TRACE(trace(i));
    const std::string s = gen.text(10);
    const text_op a = gen.op(length_of(s));
    const std::string after_a = must_apply(a, s);
    const text_op b = gen.op(length_of(after_a));
    const auto ab = compose(a, b);
    ASSERT_TRUE(ab.ok()) << ab.err().message;
    ASSERT_TRUE(is_normal(*ab));
    EXPECT_EQ(must_apply(*ab, s), must_apply(b, after_a))
        << "a " << testing::PrintToString(a) << ", b " << testing::PrintToString(b);
  }
}

// The design the library is for: a server that transforms an incoming op against every op
// committed after its base (the committed one first on insert ties), and clients that keep one
// op in flight, compose the rest into a buffer and transform both against what arrives (the
// server's op first on ties). With random edits and random delivery, every replica must end
// with the server's text.
struct sim_client {
  std::string text;
  std::size_t revision = 0;  // seq of the last server op applied here
  std::optional<text_op> outstanding;
  std::optional<text_op> buffer;
  std::deque<std::pair<std::size_t, text_op>> to_server;  // (base, op)
  std::deque<std::size_t> from_server;                    // seqs to deliver, in order
};

struct sim_server {
  std::string text;
  std::vector<std::pair<std::size_t, text_op>> log;  // (author, op); seq = index + 1
};

void client_edit(sim_client& c, const text_op& edit) {
  c.text = must_apply(edit, c.text);
  if (!c.outstanding) {
    c.outstanding = edit;
    c.to_server.emplace_back(c.revision, edit);
  } else if (!c.buffer) {
    c.buffer = edit;
  } else {
    auto composed = compose(*c.buffer, edit);
    ASSERT_TRUE(composed.ok()) << composed.err().message;
    c.buffer = std::move(*composed);
  }
}

void server_receive(sim_server& server, std::size_t author, std::size_t base, text_op op) {
  for (std::size_t seq = base + 1; seq <= server.log.size(); ++seq) {
    auto moved = transform(op, server.log[seq - 1].second, false);
    ASSERT_TRUE(moved.ok()) << moved.err().message;
    op = std::move(moved->first);
  }
  server.text = must_apply(op, server.text);
  server.log.emplace_back(author, std::move(op));
}

void client_receive(sim_client& c, std::size_t self, const sim_server& server, std::size_t seq) {
  const auto& [author, committed] = server.log[seq - 1];
  c.revision = seq;
  if (author == self) {
    // The acknowledgement of the op in flight: the buffer goes next, based on this seq.
    c.outstanding = std::move(c.buffer);
    c.buffer.reset();
    if (c.outstanding) {
      c.to_server.emplace_back(c.revision, *c.outstanding);
    }
    return;
  }
  text_op incoming = committed;
  if (c.outstanding) {
    auto moved = transform(*c.outstanding, incoming, false);
    ASSERT_TRUE(moved.ok()) << moved.err().message;
    c.outstanding = std::move(moved->first);
    incoming = std::move(moved->second);
  }
  if (c.buffer) {
    auto moved = transform(*c.buffer, incoming, false);
    ASSERT_TRUE(moved.ok()) << moved.err().message;
    c.buffer = std::move(moved->first);
    incoming = std::move(moved->second);
  }
  c.text = must_apply(incoming, c.text);
}

TEST(TextOpProperties, ClassicClientsAndServerConverge) {
  generator gen{seed() + 3};
  const std::size_t runs = std::max<std::size_t>(1, case_count() / 10);
  for (std::size_t i = 0; i < runs; ++i) {
    SCOPED_TRACE(trace(i));
    sim_server server;
    server.text = gen.text(6);
    std::vector<sim_client> clients(2 + gen.below(3));
    for (sim_client& c : clients) {
      c.text = server.text;
    }
    // Steps: an edit on a client, a client's next op reaching the server, or the server's
    // next op reaching a client; then everything in flight is delivered.
    for (std::size_t step = 0; step < 60; ++step) {
      const std::size_t who = gen.below(clients.size());
      sim_client& c = clients[who];
      switch (gen.below(3)) {
        case 0:
          client_edit(c, gen.op(length_of(c.text)));
          break;
        case 1:
          if (!c.to_server.empty()) {
            auto [base, op] = std::move(c.to_server.front());
            c.to_server.pop_front();
            server_receive(server, who, base, std::move(op));
            for (sim_client& other : clients) {
              other.from_server.push_back(server.log.size());
            }
          }
          break;
        default:
          if (!c.from_server.empty()) {
            const std::size_t seq = c.from_server.front();
            c.from_server.pop_front();
            client_receive(c, who, server, seq);
          }
          break;
      }
      ASSERT_FALSE(HasFatalFailure());
    }
    for (bool moving = true; moving;) {
      moving = false;
      for (std::size_t who = 0; who < clients.size(); ++who) {
        sim_client& c = clients[who];
        while (!c.to_server.empty()) {
          auto [base, op] = std::move(c.to_server.front());
          c.to_server.pop_front();
          server_receive(server, who, base, std::move(op));
          for (sim_client& other : clients) {
            other.from_server.push_back(server.log.size());
          }
          moving = true;
        }
        while (!c.from_server.empty()) {
          const std::size_t seq = c.from_server.front();
          c.from_server.pop_front();
          client_receive(c, who, server, seq);
          moving = true;
        }
        ASSERT_FALSE(HasFatalFailure());
      }
    }
    for (const sim_client& c : clients) {
      EXPECT_FALSE(c.outstanding || c.buffer);
      EXPECT_EQ(c.text, server.text);
    }
  }
}

TEST(TextOpProperties, InvertUndoes) {
  generator gen{seed() + 4};
  for (std::size_t i = 0; i < case_count(); ++i) {
    SCOPED_TRACE(trace(i));
    const std::string s = gen.text(12);
    const text_op op = gen.op(length_of(s));
    const auto inverse = invert(op, s);
    ASSERT_TRUE(inverse.ok()) << inverse.err().message;
    ASSERT_TRUE(is_normal(*inverse));
    EXPECT_EQ(must_apply(*inverse, must_apply(op, s)), s) << testing::PrintToString(op);
    EXPECT_EQ(inverse->base_length(), op.target_length());
  }
}

TEST(TextOpProperties, TransformIndexFollowsTheText) {
  // A caret behaves like a one-character insert at its index that loses insert ties to the
  // user's own typing and wins them against other people's: transforming such an insert
  // through `op` must put the character where transform_index puts the caret.
  const std::string marker = "\x01";  // not in the alphabet
  generator gen{seed() + 5};
  for (std::size_t i = 0; i < case_count(); ++i) {
    SCOPED_TRACE(trace(i));
    const std::string s = gen.text(12);
    const std::size_t length = length_of(s);
    const text_op op = gen.op(length);
    const std::string after = must_apply(op, s);
    for (const bool is_own : {false, true}) {
      std::size_t previous = 0;
      for (std::size_t index = 0; index <= length; ++index) {
        const std::size_t moved = transform_index(op, index, is_own);
        EXPECT_LE(moved, op.target_length());
        EXPECT_GE(moved, previous) << "index " << index << " went before index " << index - 1;
        previous = moved;
        const text_op caret = text_op{}.retain(index).insert(marker).retain(length - index);
        const auto primes = transform(caret, op, !is_own);
        ASSERT_TRUE(primes.ok());
        const std::vector<std::string> marked = code_points(must_apply(primes->first, after));
        const auto found = std::find(marked.begin(), marked.end(), marker);
        ASSERT_NE(found, marked.end());
        EXPECT_EQ(moved, static_cast<std::size_t>(found - marked.begin()))
            << testing::PrintToString(op) << ", index " << index << (is_own ? ", own" : "");
      }
      EXPECT_EQ(transform_index(op, length + 1 + gen.below(5), is_own),
                transform_index(op, length, is_own))
          << "an index past the text counts as its end";
    }
  }
}

}  // namespace
}  // namespace fun_notes::core
