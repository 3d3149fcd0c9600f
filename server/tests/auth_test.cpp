// Tokens and passwords: what a forged, expired or downgraded token gets.
#include <gtest/gtest.h>

#include "auth/auth.hpp"

namespace fun_notes::server::auth {
namespace {

std::string base64url(const std::string& in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0;
  int bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(table[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) {
    out.push_back(table[((val << 8) >> (bits + 8)) & 0x3F]);
  }
  return out;
}

TEST(Tokens, IssuedTokenVerifiesWithItsClaims) {
  token_service tokens("a-secret-of-enough-length", 3600);
  auto c = tokens.verify(tokens.issue("u_1", "alice"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user_id, "u_1");
  EXPECT_EQ(c->user_name, "alice");
}

TEST(Tokens, WrongSecretIsRejected) {
  token_service a("first-secret-0123456789", 3600);
  token_service b("other-secret-0123456789", 3600);
  EXPECT_FALSE(b.verify(a.issue("u_1", "alice")).has_value());
}

TEST(Tokens, ExpiredTokenIsRejected) {
  token_service tokens("a-secret-of-enough-length", -10);
  EXPECT_FALSE(tokens.verify(tokens.issue("u_1", "alice")).has_value());
}

TEST(Tokens, TamperedPayloadIsRejected) {
  token_service tokens("a-secret-of-enough-length", 3600);
  auto t = tokens.issue("u_1", "alice");
  const auto first_dot = t.find('.');
  const auto second_dot = t.find('.', first_dot + 1);
  const std::string forged_payload =
      base64url(R"({"sub":"u_admin","name":"mallory","iss":"fun-notes","exp":9999999999})");
  const std::string forged = t.substr(0, first_dot + 1) + forged_payload + t.substr(second_dot);
  EXPECT_FALSE(tokens.verify(forged).has_value());
}

TEST(Tokens, UnsignedAlgNoneTokenIsRejected) {
  token_service tokens("a-secret-of-enough-length", 3600);
  const std::string header = base64url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload =
      base64url(R"({"sub":"u_1","name":"alice","iss":"fun-notes","exp":9999999999})");
  EXPECT_FALSE(tokens.verify(header + "." + payload + ".").has_value());
  EXPECT_FALSE(tokens.verify(header + "." + payload).has_value());
}

TEST(Tokens, GarbageIsRejected) {
  token_service tokens("a-secret-of-enough-length", 3600);
  EXPECT_FALSE(tokens.verify("").has_value());
  EXPECT_FALSE(tokens.verify("not a token").has_value());
  EXPECT_FALSE(tokens.verify("a.b.c").has_value());
}

TEST(Passwords, HashVerifiesOnlyTheSamePassword) {
  const auto h = hash_password("correct horse");
  EXPECT_NE(h.find("$argon2id$"), std::string::npos);
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct horsE"));
}

TEST(Ids, RandomIdsHaveTheLengthAndCharset) {
  const auto id = random_id(12);
  EXPECT_EQ(id.size(), 12U);
  for (char c : id) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  }
  EXPECT_NE(random_id(12), id);
}

TEST(Auth, ReadableIdsHaveNoLookAlikeCharacters) {
  std::string all;
  for (int i = 0; i < 200; ++i) {
    all += readable_id(14);
  }
  EXPECT_EQ(all.size(), 200U * 14U);
  EXPECT_EQ(all.find_first_not_of("23456789abcdefghjkmnpqrstuvwxyz"), std::string::npos);
  EXPECT_EQ(all.find_first_of("01ilo"), std::string::npos);
  EXPECT_NE(readable_id(14), readable_id(14));
}

}  // namespace
}  // namespace fun_notes::server::auth
