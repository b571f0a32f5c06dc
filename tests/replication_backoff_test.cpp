// Pure parts of the replication source: the reconnect back-off and the transient-error table.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "binwatch/replication/replication_source.h"

namespace binwatch::replication {
namespace {

using std::chrono::milliseconds;

TEST(BackoffDelay, CeilingDoublesFromMinAndIsCappedAtMax) {
  const milliseconds min{100}, max{5000};
  // random01 close to 1 gives the ceiling: 200, 400, 800, ... capped at 5000, never decreasing.
  milliseconds previous{0};
  for (unsigned attempt = 0; attempt < 200; ++attempt) {
    const milliseconds top = backoff_delay(attempt, min, max, 0.999999);
    EXPECT_GE(top, previous) << attempt;
    EXPECT_LE(top, max) << attempt;
    previous = top;
  }
  EXPECT_EQ(backoff_delay(0, min, max, 0.999999).count(), 199);  // just below the 200 ms ceiling
  EXPECT_EQ(backoff_delay(3, min, max, 0.999999).count(), 1599);
  EXPECT_EQ(backoff_delay(6, min, max, 0.999999), milliseconds(4999));
  EXPECT_EQ(backoff_delay(60, min, max, 1.0), max);
  EXPECT_EQ(backoff_delay(4000000000u, min, max, 1.0), max);  // no overflow for huge attempts
}

TEST(BackoffDelay, FullJitterSpansMinToCeiling) {
  const milliseconds min{100}, max{10000};
  for (unsigned attempt = 0; attempt < 12; ++attempt) {
    const double ceiling = std::min(10000.0, 100.0 * (2u << attempt));
    EXPECT_EQ(backoff_delay(attempt, min, max, 0.0), min) << attempt;
    for (double r = 0.0; r < 1.0; r += 0.0625) {
      const auto d = backoff_delay(attempt, min, max, r);
      EXPECT_GE(d, min);
      EXPECT_LE(d.count(), ceiling);
      EXPECT_NEAR(static_cast<double>(d.count()), 100.0 + r * (ceiling - 100.0), 1.0);
    }
  }
}

TEST(BackoffDelay, DegenerateBounds) {
  EXPECT_EQ(backoff_delay(5, milliseconds{200}, milliseconds{50}, 0.7), milliseconds{200});  // max < min
  EXPECT_EQ(backoff_delay(0, milliseconds{0}, milliseconds{0}, 0.5), milliseconds{0});
  EXPECT_LE(backoff_delay(3, milliseconds{0}, milliseconds{1000}, 0.99), milliseconds{16});
  EXPECT_EQ(backoff_delay(2, milliseconds{10}, milliseconds{1000}, -3.0), milliseconds{10});  // clamped
  EXPECT_EQ(backoff_delay(2, milliseconds{10}, milliseconds{1000}, 7.0), milliseconds{80});
}

TEST(TransientErrors, ConnectionLossRetriesAccessAndMissingBinlogDoNot) {
  for (unsigned code : {2002u, 2003u, 2006u, 2013u, 1053u, 1927u, 1040u, 1158u, 4031u})
    EXPECT_TRUE(is_transient_error(code)) << code;
  for (unsigned code : {1045u, 1227u, 1236u, 1064u, 1146u}) EXPECT_FALSE(is_transient_error(code)) << code;
}

TEST(ReplicationOptions, ServerIdAndPositionAreChecked) {
  ReplicationOptions o;
  o.file = "mysql-bin.000001";
  EXPECT_THROW(ReplicationSource{o}, std::invalid_argument);  // server_id 0
  o.server_id = 7;
  o.position = 3;
  EXPECT_THROW(ReplicationSource{o}, std::invalid_argument);
  o.position = uint64_t{1} << 32;
  EXPECT_THROW(ReplicationSource{o}, std::invalid_argument);
  o.position = 4;
  ReplicationSource source(o);  // does not connect
  EXPECT_EQ(source.current_file(), "mysql-bin.000001");
  EXPECT_EQ(source.start_position(), 4u);
  EXPECT_EQ(source.position(), 4u);
}

// No server needed: connecting to a socket that does not exist fails with 2002 (transient), so the
// source backs off; stop() must wake that sleep, and max_attempts must end the retries.
TEST(ReplicationSourceRetries, StopWakesTheBackoffSleepAndMaxAttemptsGivesUp) {
  ReplicationOptions o;
  o.connection.socket = "/nonexistent/binwatch-test.sock";
  o.connection.user = "nobody";
  o.server_id = 9;
  o.file = "mariadb-bin.000001";
  o.backoff_min = std::chrono::seconds(30);
  o.backoff_max = std::chrono::seconds(60);
  {
    ReplicationSource source(o);
    auto reader = std::async(std::launch::async, [&] {
      std::byte buf[64];
      return source.read(buf, sizeof buf);
    });
    std::this_thread::sleep_for(milliseconds(200));
    const auto t0 = std::chrono::steady_clock::now();
    source.stop();
    ASSERT_EQ(reader.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    EXPECT_EQ(reader.get(), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
  }
  {
    o.backoff_min = milliseconds(1);
    o.backoff_max = milliseconds(4);
    o.max_attempts = 3;
    ReplicationSource source(o);
    std::byte buf[64];
    EXPECT_THROW((void)source.read(buf, sizeof buf), std::runtime_error);
  }
  {
    bool stop_now = false;
    o.max_attempts = 0;
    o.stop = [&] { return stop_now; };
    ReplicationSource source(o);
    stop_now = true;  // the predicate is polled: read() returns 0 without connecting
    std::byte buf[64];
    EXPECT_EQ(source.read(buf, sizeof buf), 0u);
    EXPECT_TRUE(source.stopped());
  }
}

}  // namespace
}  // namespace binwatch::replication
