// Pure decoders on hand-built events: common header and framing (frame_event), the format
// description, QUERY status variables, rows post-headers, TRANSACTION_PAYLOAD fields, the other
// small bodies, DecodeContext, MariaDB compressed blocks (mariadb_uncompress) and the streaming
// TRANSACTION_PAYLOAD reader (PayloadReader) over zstd frames built here without a content size.
// Checksums are computed with zlib's crc32, independently of binwatch's libdeflate-based one.
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include "support/test_bytes.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/decode_context.h"
#include "binwatch/binlog/decoder.h"
#include "binwatch/binlog/format_description.h"
#include "binwatch/binlog/mariadb_compression.h"
#include "binwatch/binlog/payload_reader.h"

namespace binwatch::binlog {
namespace {

// ---------------------------------------------------------------------------------------------
// Builders

using Buf = ::binwatch::test::ByteBuilder;

uint32_t zlib_crc(Bytes data) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// A whole event: 19-byte header, body and, with `crc`, the CRC32 footer.
std::vector<std::byte> make_event(uint8_t type, Bytes body, bool crc, uint16_t flags = 0,
                                  uint32_t log_pos = 0, uint32_t timestamp = 1700000000) {
  const uint32_t size = static_cast<uint32_t>(kHeaderLen + body.size() + (crc ? 4 : 0));
  Buf e;
  e.u32(timestamp).u8(type).u32(7).u32(size).u32(log_pos).u16(flags).raw(body);
  if (crc) e.u32(zlib_crc(e));
  return e.b;
}

// A FORMAT_DESCRIPTION event. `trailer`: server knows checksums (alg byte + CRC32 follow the
// post-header table); the CRC is computed with the in-use flag cleared, as the server does.
std::vector<std::byte> make_fde(const std::string& version, size_t post_header_count,
                                bool trailer, uint8_t alg, uint16_t flags = 0,
                                uint16_t binlog_version = 4, uint8_t header_len = 19) {
  Buf body;
  body.u16(binlog_version);
  std::string v = version;
  v.resize(50, '\0');
  body.str(v).u32(1700000000).u8(header_len);
  for (size_t i = 0; i < post_header_count; ++i) {
    body.u8(default_post_header_len(static_cast<uint8_t>(i + 1)));
  }
  if (trailer) body.u8(alg);
  const uint32_t size = static_cast<uint32_t>(kHeaderLen + body.size() + (trailer ? 4 : 0));
  Buf e;
  e.u32(1700000000).u8(15).u32(1).u32(size).u32(size + 4).u16(flags).raw(body);
  if (trailer) {
    Buf clean = e;
    clean.b[17] &= std::byte{0xfe};
    e.u32(zlib_crc(clean));
  }
  return e.b;
}

Result<FormatDescription> fde_of(const std::vector<std::byte>& event) {
  auto h = parse_event_header(event);
  if (!h) return h.error();
  return parse_format_description(*h, event);
}

FormatDescription mysql80_fde() {
  auto f = fde_of(make_fde("8.0.32", 41, true, 1));
  EXPECT_TRUE(f.ok());
  return *f;
}

std::vector<std::byte> zlib_compress(Bytes data, int level = 6) {
  uLongf out_len = compressBound(static_cast<uLong>(data.size()));
  std::vector<std::byte> out(out_len);
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &out_len,
                           reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), level);
  EXPECT_EQ(rc, Z_OK);
  out.resize(out_len);
  return out;
}

// MariaDB binlog_buf_compress layout: 0x80 | lenlen, big-endian original length, zlib stream.
std::vector<std::byte> mariadb_block(Bytes data, int lenlen = 0) {
  const uint64_t len = data.size();
  if (lenlen == 0) lenlen = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
  Buf b;
  b.u8(0x80 | lenlen);
  for (int i = lenlen - 1; i >= 0; --i) b.u8(len >> (8 * i));
  b.raw(zlib_compress(data));
  return b.b;
}

std::vector<std::byte> text_bytes(std::string_view s) {
  const Bytes b = as_bytes(s);
  return {b.begin(), b.end()};
}

// ---------------------------------------------------------------------------------------------
// Common header and framing

TEST(EventHeader, ParsesAllFields) {
  Buf h;
  h.u32(0x5f5e1000).u8(30).u32(0xdeadbeef).u32(100).u32(0x12345678).u16(0x0041);
  auto r = parse_event_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->timestamp, 0x5f5e1000u);
  EXPECT_EQ(r->type, 30);
  EXPECT_EQ(r->server_id, 0xdeadbeefu);
  EXPECT_EQ(r->event_size, 100u);
  EXPECT_EQ(r->log_pos, 0x12345678u);
  EXPECT_EQ(r->flags, 0x41);
}

TEST(EventHeader, ShortHeaderIsTruncatedAndTinySizeMalformed) {
  Buf h;
  h.u32(0).u8(2).u32(1).u32(19).u32(0).u16(0);
  for (size_t n = 0; n < kHeaderLen; ++n) {
    auto r = parse_event_header(Bytes(h).first(n));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Truncated) << n;
  }
  EXPECT_TRUE(parse_event_header(h).ok());  // exactly a header: an empty body is valid
  for (uint32_t size : {0u, 1u, 18u}) {
    Buf bad;
    bad.u32(0).u8(2).u32(1).u32(size).u32(0).u16(0);
    auto r = parse_event_header(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed) << size;
  }
}

TEST(FrameEvent, StripsAndVerifiesTheChecksum) {
  Buf body;
  body.u64(42);
  auto ev = make_event(16, body, true);
  auto raw = frame_event(ev, true);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->event.size(), ev.size());
  ASSERT_EQ(raw->body.size(), 8u);
  EXPECT_TRUE(std::equal(raw->body.begin(), raw->body.end(), body.b.begin()));
  EXPECT_TRUE(checksum_matches(ev));
  EXPECT_EQ(crc32(Bytes(ev).first(ev.size() - 4)), zlib_crc(Bytes(ev).first(ev.size() - 4)));

  // Without checksums the footer bytes are part of the body.
  auto plain = frame_event(ev, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body.size(), 12u);
}

TEST(FrameEvent, EveryFlippedBitFailsTheChecksum) {
  Buf body;
  body.str("COMMIT /* some text */");
  const auto ev = make_event(2, body, true);
  for (size_t i = 0; i < ev.size(); ++i) {
    if (i >= 9 && i < 13) continue;  // event_size: framing changes, tested elsewhere
    auto bad = ev;
    bad[i] ^= std::byte{0x10};
    auto raw = frame_event(bad, true);
    ASSERT_FALSE(raw.ok()) << "byte " << i;
    EXPECT_EQ(raw.error().kind, ErrorKind::Checksum) << "byte " << i;
    EXPECT_TRUE(frame_event(bad, true, /*verify=*/false).ok()) << "byte " << i;
  }
}

TEST(FrameEvent, SizesThatDoNotFit) {
  Buf body;
  body.u64(1);
  auto ev = make_event(16, body, true);
  // The buffer ends inside the event.
  auto r = frame_event(Bytes(ev).first(ev.size() - 1), true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Truncated);
  // More bytes than the event: only the event is framed.
  auto longer = ev;
  longer.resize(ev.size() + 10, std::byte{0x77});
  auto ok = frame_event(longer, true);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->event.size(), ev.size());
  // With checksums an event must leave room for the footer.
  for (uint32_t size = 19; size < 23; ++size) {
    Buf e;
    e.u32(0).u8(16).u32(1).u32(size).u32(0).u16(0);
    e.b.resize(size);
    auto f = frame_event(e, true);
    ASSERT_FALSE(f.ok()) << size;
    EXPECT_EQ(f.error().kind, ErrorKind::Malformed) << size;
    EXPECT_TRUE(frame_event(e, false).ok()) << size;
  }
}

// ---------------------------------------------------------------------------------------------
// Format description

TEST(FormatDescription, MySql80WithCrc32) {
  auto f = fde_of(make_fde("8.0.32", 41, true, 1));
  ASSERT_TRUE(f.ok()) << f.error().detail;
  EXPECT_EQ(f->binlog_version, 4);
  EXPECT_EQ(f->server_version, "8.0.32");
  EXPECT_EQ(f->create_timestamp, 1700000000u);
  EXPECT_EQ(f->header_len, 19);
  EXPECT_EQ(f->post_header_len.size(), 41u);
  EXPECT_EQ(f->checksum, ChecksumAlg::Crc32);
  EXPECT_TRUE(f->event_checksums());
  EXPECT_TRUE(f->checksum_aware);
  EXPECT_EQ(f->flavor, Flavor::MySQL);
  EXPECT_FALSE(f->in_use);
  EXPECT_EQ(f->post_header(2), 13);
  EXPECT_EQ(f->post_header(19), 8);
  EXPECT_EQ(f->post_header(30), 10);
  // Types past the server's table fall back to the built-in defaults.
  EXPECT_EQ(f->post_header(42), default_post_header_len(42));
  EXPECT_EQ(f->post_header(165), 13);
  EXPECT_EQ(f->post_header(0), 0);
}

TEST(FormatDescription, InUseFlagIsClearedForTheChecksum) {
  auto ev = make_fde("8.0.40", 41, true, 1, kFlagInUse);
  auto f = fde_of(ev);
  ASSERT_TRUE(f.ok()) << f.error().detail;
  EXPECT_TRUE(f->in_use);
  // The same event with the CRC computed over the flag as set fails: the server never does that.
  auto wrong = ev;
  const size_t n = wrong.size() - 4;
  const uint32_t crc = zlib_crc(Bytes(wrong).first(n));
  for (int i = 0; i < 4; ++i) wrong[n + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xff);
  auto bad = fde_of(wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::Checksum);
}

TEST(FormatDescription, ChecksumOffStillVerifiesTheFdeItself) {
  auto ev = make_fde("5.6.4-m7-debug-log", 35, true, 0);
  auto f = fde_of(ev);
  ASSERT_TRUE(f.ok()) << f.error().detail;
  EXPECT_EQ(f->checksum, ChecksumAlg::Off);
  EXPECT_FALSE(f->event_checksums());
  EXPECT_TRUE(f->checksum_aware);
  EXPECT_EQ(f->post_header_len.size(), 35u);
  auto corrupt = ev;
  corrupt[19 + 10] ^= std::byte{1};  // inside the server version
  auto bad = fde_of(corrupt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::Checksum);
}

TEST(FormatDescription, PreChecksumServersHaveNoTrailer) {
  for (const char* version : {"5.0.86-debug-log", "5.1.43-debug-log", "5.5.62-log", "5.6.0"}) {
    SCOPED_TRACE(version);
    auto f = fde_of(make_fde(version, 27, false, 0));
    ASSERT_TRUE(f.ok()) << f.error().detail;
    EXPECT_FALSE(f->checksum_aware);
    EXPECT_EQ(f->checksum, ChecksumAlg::Off);
    EXPECT_EQ(f->post_header_len.size(), 27u);  // every byte after header_len is the table
  }
}

TEST(FormatDescription, MariaDbFlavorAndLongTable) {
  auto f = fde_of(make_fde("10.11.19-MariaDB-0+deb12u1-log", 171, true, 1));
  ASSERT_TRUE(f.ok()) << f.error().detail;
  EXPECT_EQ(f->flavor, Flavor::MariaDB);
  EXPECT_EQ(f->post_header_len.size(), 171u);
  EXPECT_EQ(f->post_header(171), default_post_header_len(171));
}

TEST(FormatDescription, UndefinedAlgorithmSkipsTheCheck) {
  auto ev = make_fde("8.0.32", 41, true, 255);
  ev[ev.size() - 1] ^= std::byte{0xff};  // CRC no longer matches: not checked for alg 255
  auto f = fde_of(ev);
  ASSERT_TRUE(f.ok()) << f.error().detail;
  EXPECT_EQ(f->checksum, ChecksumAlg::Undefined);
  EXPECT_FALSE(f->event_checksums());
}

TEST(FormatDescription, RejectsWhatItCannotRead) {
  {
    auto f = fde_of(make_fde("8.0.32", 41, true, 7));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::Malformed);
  }
  {
    auto f = fde_of(make_fde("4.0.20", 10, false, 0, 0, /*binlog_version=*/3));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::Unsupported);
  }
  {
    auto f = fde_of(make_fde("8.0.32", 41, true, 1, 0, 4, /*header_len=*/13));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::Unsupported);
  }
  {
    // A checksum-aware version with no room for the trailer.
    Buf body;
    body.u16(4);
    std::string v = "8.0.32";
    v.resize(50, '\0');
    body.str(v).u32(0).u8(19).u8(1).u8(2);
    auto ev = make_event(15, body, false);
    auto f = fde_of(ev);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::Malformed);
  }
  // Every truncation of the body before the header length byte is malformed, never a crash.
  auto full = make_fde("8.0.32", 41, true, 1);
  for (uint32_t body = 0; body < 57; ++body) {
    Buf e;
    e.raw(Bytes(full).first(kHeaderLen + body));
    const uint32_t size = kHeaderLen + body;
    for (int i = 0; i < 4; ++i) e.b[9 + i] = static_cast<std::byte>((size >> (8 * i)) & 0xff);
    auto f = fde_of(e.b);
    ASSERT_FALSE(f.ok()) << body;
    EXPECT_EQ(f.error().kind, ErrorKind::Malformed) << body;
  }
  // The event buffer shorter than its event_size.
  auto h = parse_event_header(full);
  ASSERT_TRUE(h.ok());
  auto f = parse_format_description(*h, Bytes(full).first(full.size() - 1));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::Truncated);
}

TEST(FormatDescription, ServerVersionsThatKnowChecksums) {
  struct Case {
    const char* version;
    bool knows;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"5.0.86-debug-log", false},
           {"5.1.37-ndb-6.2.19-debug-log", false},
           {"5.5.62", false},
           {"5.6.0", false},
           {"5.6.1", true},
           {"5.6.4-m7-debug-log", true},
           {"5.6.16-64.2-56-log", true},
           {"5.7.30-log", true},
           {"8.0.32", true},
           {"9.6.0", true},
           {"5.2.14-MariaDB", false},
           {"5.3.0-MariaDB", true},
           {"10.5.15-MariaDB-1:10.5.15+maria~focal-log", true},
           {"11.8.5-MariaDB-ubu2404-log", true},
       }) {
    EXPECT_EQ(server_version_knows_checksums(c.version), c.knows) << c.version;
  }
}

// The post-header table lengths of real servers (BINLOG-FORMAT-NOTES.md), read from the fixtures.
TEST(FormatDescription, RealServersPostHeaderTables) {
  const std::filesystem::path root = BINWATCH_SHARED_FIXTURES;
  if (!std::filesystem::is_directory(root)) {
    GTEST_SKIP() << "shared fixtures folder " << root
                 << " absent (set -DBINWATCH_SHARED_FIXTURES=...)";
  }
  struct Case {
    const char* path;
    const char* version_prefix;
    size_t table_len;
    ChecksumAlg alg;
  };
  const std::vector<Case> cases = {
      {"go-mysql/replication/t/tcb-eval002c-bin.003320", "5.6.16", 35, ChecksumAlg::Crc32},
      {"mysql-cdc-rs/tests/events/5.7/02_query/log.bin", "5.7.30", 38, ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/rpl_unfiltered_hidden_gcol.000001", "8.0.17", 39,
       ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/json.binlog.000001", "8.0.22", 40, ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/binlog-invisible-columns.000001", "8.0.26", 40,
       ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/mysql-enum-string-set.000001", "8.0.28", 41,
       ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/minimal_row_metadata.000001", "8.0.40", 41,
       ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/json-opaque.binlog", "9.0.1", 42, ChecksumAlg::Crc32},
      {"local-mariadb-10.11.19-generated/mariadb-bin.000004", "10.11.19-MariaDB", 171,
       ChecksumAlg::Off},
      {"mariadb-poc/mariadb-binlog/binlogs/domain_id_0/mariadb-repl-bin.000001", "11.8.5-MariaDB",
       171, ChecksumAlg::Crc32},
      // 5.6.4-m7 is a development milestone: its table is shorter than 5.6 GA's 35.
      {"rust_mysql_common/test-data/binlogs/ver_trunk_row_v2.001", "5.6.4-m7", 32,
       ChecksumAlg::Off},
      {"rust_mysql_common/test-data/binlogs/binlog_transaction_with_GTID_TAG.000001", "9.6.0", 42,
       ChecksumAlg::Crc32},
      {"rust_mysql_common/test-data/binlogs/bug16266.000001", "5.0.16", 18, ChecksumAlg::Off},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    std::ifstream in(root / c.path, std::ios::binary);
    ASSERT_TRUE(in) << "missing fixture";
    std::vector<char> head(4096);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    const Bytes all(reinterpret_cast<const std::byte*>(head.data()), head.size());
    ASSERT_GT(all.size(), 4u + kHeaderLen);
    auto h = parse_event_header(all.subspan(4));
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->type, 15);
    auto f = parse_format_description(*h, all.subspan(4));
    ASSERT_TRUE(f.ok()) << f.error().detail;
    EXPECT_TRUE(f->server_version.starts_with(c.version_prefix)) << f->server_version;
    EXPECT_EQ(f->post_header_len.size(), c.table_len);
    EXPECT_EQ(f->checksum, c.alg);
  }
}

// ---------------------------------------------------------------------------------------------
// QUERY

Buf query_body(const Buf& vars, std::string_view db, std::string_view query, uint16_t error = 0) {
  Buf b;
  b.u32(77).u32(3).u8(db.size()).u16(error).u16(vars.size()).raw(vars).str(db).u8(0).str(query);
  return b;
}

TEST(Query, StatusVariablesSchemaAndText) {
  Buf vars;
  vars.u8(0).u32(0);                                  // FLAGS2
  vars.u8(1).u64(0x4000000);                          // SQL_MODE
  vars.u8(6).u8(3).str("std");                        // CATALOG_NZ
  vars.u8(4).u16(33).u16(33).u16(8);                  // CHARSET
  vars.u8(5).u8(6).str("+02:00");                     // TIME_ZONE
  vars.u8(11).u8(4).str("root").u8(9).str("localhost");  // INVOKER
  vars.u8(12).u8(2).str("db1").u8(0).str("db2").u8(0);   // UPDATED_DB_NAMES
  vars.u8(13).le(123456, 3);                          // MICROSECONDS
  vars.u8(128).le(1, 3);                              // MariaDB HRNOW
  vars.u8(129).u64(99);                               // MariaDB XID
  auto body = query_body(vars, "shop", "INSERT INTO t VALUES (1)", 0);
  auto q = parse_query(mysql80_fde(), 2, body);
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_EQ(q->thread_id, 77u);
  EXPECT_EQ(q->exec_time, 3u);
  EXPECT_EQ(q->schema, "shop");
  EXPECT_EQ(q->query, "INSERT INTO t VALUES (1)");
  EXPECT_TRUE(q->status_vars_complete);
  EXPECT_EQ(q->sql_mode, 0x4000000u);
  EXPECT_EQ(q->catalog, "std");
  EXPECT_EQ(q->charset_client, 33);
  EXPECT_EQ(q->time_zone, "+02:00");
  EXPECT_EQ(q->user, "root");
  EXPECT_EQ(q->host, "localhost");
}

TEST(Query, UnknownStatusCodeStopsTheWalkNotTheEvent) {
  Buf vars;
  vars.u8(1).u64(5).u8(200).u8(1).u8(2).u8(3);  // code 200 unknown: rest of the block skipped
  auto body = query_body(vars, "d", "BEGIN");
  auto q = parse_query(mysql80_fde(), 2, body);
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_FALSE(q->status_vars_complete);
  EXPECT_EQ(q->sql_mode, 5u);
  EXPECT_EQ(q->schema, "d");
  EXPECT_EQ(q->query, "BEGIN");
}

TEST(Query, TruncatedStatusVariableIsIncompleteNotFatal) {
  Buf vars;
  vars.u8(5).u8(40).str("short");  // TIME_ZONE claims 40 bytes, block has 5
  const auto body = query_body(vars, "", "COMMIT");  // the event's views point into it
  auto q = parse_query(mysql80_fde(), 2, body);
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_FALSE(q->status_vars_complete);
  EXPECT_EQ(q->query, "COMMIT");
}

TEST(Query, LengthsPastTheEventAreMalformed) {
  const auto fde = mysql80_fde();
  {
    Buf b;
    b.u32(1).u32(0).u8(0).u16(0).u16(500).u8(1);  // status vars longer than the event
    auto q = parse_query(fde, 2, b);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().kind, ErrorKind::Malformed);
  }
  {
    Buf b;
    b.u32(1).u32(0).u8(20).u16(0).u16(0).str("db");  // schema longer than the event
    auto q = parse_query(fde, 2, b);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().kind, ErrorKind::Malformed);
  }
  const auto good = query_body(Buf{}, "db", "");
  for (size_t n = 0; n < good.size(); ++n) {  // every truncation up to the schema's NUL
    auto q = parse_query(fde, 2, Bytes(good).first(n));
    ASSERT_FALSE(q.ok()) << n;
    EXPECT_EQ(q.error().kind, ErrorKind::Malformed) << n;
  }
  EXPECT_TRUE(parse_query(fde, 2, good).ok());
}

TEST(Query, OldPostHeaderWithoutStatusVariables) {
  FormatDescription old;
  old.post_header_len = {0, 11};  // QUERY post-header of 11 bytes (no status_vars_len)
  Buf b;
  b.u32(1).u32(2).u8(1).u16(0).str("x").u8(0).str("DROP TABLE t");
  auto q = parse_query(old, 2, b);
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_EQ(q->schema, "x");
  EXPECT_EQ(q->query, "DROP TABLE t");
}

TEST(Query, MariaDbCompressedQuery) {
  const std::string text = "INSERT INTO big VALUES " + std::string(500, 'x');
  Buf b;
  b.u32(5).u32(0).u8(2).u16(0).u16(0).str("wd").u8(0).raw(mariadb_block(as_bytes(text)));
  auto q = parse_query(mysql80_fde(), 165, b);
  ASSERT_TRUE(q.ok()) << q.error().detail;
  EXPECT_EQ(q->schema, "wd");
  EXPECT_EQ(q->query, text);
  ASSERT_TRUE(q->storage);
  // A broken block makes the event malformed.
  auto bad = b;
  bad.b.back() ^= std::byte{0x55};
  bad.b[bad.size() - 3] ^= std::byte{0x55};
  EXPECT_FALSE(parse_query(mysql80_fde(), 165, bad).ok());
}

// ---------------------------------------------------------------------------------------------
// Rows post-headers

TEST(Rows, V1WriteLayout) {
  Buf b;
  b.u48(0x123456789a).u16(1).packed(3).u8(0b101).u8(0).u8(0xaa).u8(0xbb);
  auto r = parse_rows(mysql80_fde(), 23, b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->table_id, 0x123456789au);
  EXPECT_TRUE(r->stmt_end());
  EXPECT_EQ(r->width, 3u);
  ASSERT_EQ(r->columns_before.size(), 1u);
  EXPECT_EQ(std::to_integer<int>(r->columns_before[0]), 0b101);
  EXPECT_EQ(r->columns_after.data(), r->columns_before.data());
  EXPECT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->info.kind, RowsKind::Write);
  EXPECT_EQ(r->info.version, 1);
  EXPECT_FALSE(r->info.compressed);
}

TEST(Rows, V2ExtraInfoAndUpdateBitmaps) {
  Buf extra;
  extra.u8(0).u8(3).u8(1).u8(2).u8(3);  // one extra-row-info chunk
  Buf b;
  b.u48(9).u16(0).u16(2 + extra.size()).raw(extra).packed(10).u16(0x3ff).u16(0x201).u8(0);
  auto r = parse_rows(mysql80_fde(), 31, b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->extra_info.size(), extra.size());
  EXPECT_EQ(r->width, 10u);
  ASSERT_EQ(r->columns_before.size(), 2u);
  ASSERT_EQ(r->columns_after.size(), 2u);
  EXPECT_EQ(std::to_integer<int>(r->columns_after[1]), 0x02);
  EXPECT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->info.kind, RowsKind::Update);
  EXPECT_FALSE(r->stmt_end());

  auto p = parse_rows(mysql80_fde(), 39, b);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->info.partial_json);
}

TEST(Rows, V2BadVarHeaderLength) {
  for (uint16_t var_len : {0, 1, 200}) {
    Buf b;
    b.u48(9).u16(0).u16(var_len).packed(1).u8(1).u8(0);
    auto r = parse_rows(mysql80_fde(), 30, b);
    ASSERT_FALSE(r.ok()) << var_len;
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
  }
}

TEST(Rows, FourByteTableIdWhenPostHeaderIsSix) {
  FormatDescription old;
  old.post_header_len.assign(25, 6);  // MySQL 5.1.0-5.1.15 era: table_id is 4 bytes
  Buf b;
  b.u32(0x01020304).u16(1).packed(1).u8(1).u8(0).u32(5);
  auto r = parse_rows(old, 23, b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->table_id, 0x01020304u);
  EXPECT_EQ(r->rows.size(), 5u);
}

TEST(Rows, V0UpdateHasOneBitmap) {
  Buf b;
  b.u48(1).u16(0).packed(2).u8(3).u8(0).u8(0);
  auto r = parse_rows(mysql80_fde(), 21, b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->info.version, 0);
  EXPECT_EQ(r->columns_after.data(), r->columns_before.data());
  EXPECT_EQ(r->rows.size(), 2u);
}

TEST(Rows, MariaDbCompressedRows) {
  std::vector<std::byte> rows(300, std::byte{0x41});
  Buf b;
  const auto block = mariadb_block(rows);
  b.u48(4).u16(1).packed(2).u8(3).raw(block);
  auto r = parse_rows(mysql80_fde(), 166, b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_TRUE(r->info.compressed);
  EXPECT_EQ(r->compressed_rows_size, block.size());
  EXPECT_EQ(r->rows.size(), 300u);
  ASSERT_TRUE(r->storage);
  // v2 compressed (169-171) with its var header.
  Buf b2;
  b2.u48(4).u16(1).u16(2).packed(2).u8(3).u8(3).raw(block);
  auto r2 = parse_rows(mysql80_fde(), 170, b2);
  ASSERT_TRUE(r2.ok()) << r2.error().detail;
  EXPECT_EQ(r2->info.kind, RowsKind::Update);
  EXPECT_EQ(r2->rows.size(), 300u);
}

// Found by the fuzzer: width 2^64-1 made (width + 7) / 8 wrap to 0, the bitmap came out empty and
// the row walker read past it.
TEST(Rows, HugeWidthDoesNotWrapTheBitmapLength) {
  for (uint64_t width : {~uint64_t{0}, ~uint64_t{0} - 6, uint64_t{1} << 40, uint64_t{33}}) {
    Buf b;
    b.u48(5).u16(1).packed(width).u32(0);  // 4 bytes left: room for 32 columns at most
    auto r = parse_rows(mysql80_fde(), 23, b);
    ASSERT_FALSE(r.ok()) << width;
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed) << width;
  }
  Buf ok;
  ok.u48(5).u16(1).packed(32).u32(0);
  EXPECT_TRUE(parse_rows(mysql80_fde(), 23, ok).ok());
}

TEST(Rows, TruncationsAndNonRowsTypes) {
  Buf b;
  b.u48(9).u16(0).u16(2).packed(300).raw(std::vector<std::byte>(38, std::byte{0xff}));
  b.raw(std::vector<std::byte>(38, std::byte{0xff}));
  ASSERT_TRUE(parse_rows(mysql80_fde(), 31, b).ok());
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = parse_rows(mysql80_fde(), 31, Bytes(b).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed) << n;
  }
  EXPECT_FALSE(parse_rows(mysql80_fde(), 2, b).ok());
  EXPECT_FALSE(parse_rows(mysql80_fde(), 19, b).ok());
}

// ---------------------------------------------------------------------------------------------
// TRANSACTION_PAYLOAD fields

TEST(TransactionPayload, FieldsInServerOrder) {
  const std::vector<std::byte> payload(124, std::byte{0x28});
  Buf b;
  b.u8(2).u8(1).u8(0);        // compression type ZSTD
  b.u8(3).u8(1).packed(179);  // uncompressed size (a 1-byte packed integer)
  b.u8(1).u8(1).u8(124);      // payload size
  b.u8(0);                    // end of fields
  b.raw(payload);
  auto p = parse_transaction_payload(mysql80_fde(), b);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->compression, 0u);
  EXPECT_EQ(p->uncompressed_size, 179u);
  EXPECT_EQ(p->payload_size, 124u);
  EXPECT_EQ(p->payload.size(), 124u);
}

TEST(TransactionPayload, MultiByteValuesAndUnknownFields) {
  Buf b;
  b.u8(9).u8(3).u8(1).u8(2).u8(3);  // unknown field type 9: skipped by length
  b.u8(3).u8(3).packed(60000);  // 252 + u16
  b.u8(2).u8(3).packed(255);  // NONE: 255 is stored as 252 + u16 (net_store_length)
  b.u8(1).u8(3).packed(1000);
  b.u8(0);
  b.raw(std::vector<std::byte>(1000, std::byte{1}));
  auto p = parse_transaction_payload(mysql80_fde(), b);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->compression, 255u);
  EXPECT_EQ(p->payload_size, 1000u);
  EXPECT_EQ(p->uncompressed_size, 60000u);
}

TEST(TransactionPayload, SizeMismatchAndBrokenFields) {
  {
    Buf b;
    b.u8(1).u8(1).u8(10).u8(0).raw(std::vector<std::byte>(9, std::byte{0}));
    auto p = parse_transaction_payload(mysql80_fde(), b);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().kind, ErrorKind::Malformed);
  }
  {
    Buf b;
    b.u8(1).u8(1).u8(10).u8(0).raw(std::vector<std::byte>(11, std::byte{0}));
    EXPECT_FALSE(parse_transaction_payload(mysql80_fde(), b).ok());
  }
  {
    Buf b;
    b.u8(1).u8(200);  // field length past the end
    EXPECT_FALSE(parse_transaction_payload(mysql80_fde(), b).ok());
  }
  {
    Buf b;  // no terminating type 0: many fields, then the end
    for (int i = 0; i < 100; ++i) b.u8(7).u8(0);
    EXPECT_FALSE(parse_transaction_payload(mysql80_fde(), b).ok());
  }
  EXPECT_FALSE(parse_transaction_payload(mysql80_fde(), Buf{}).ok());
}

// ---------------------------------------------------------------------------------------------
// Other bodies through decode_event

Result<Event> decode(uint8_t type, const Buf& body, const DecodeContext& ctx = DecodeContext{}) {
  static thread_local std::vector<std::byte> keep;
  keep = make_event(type, body, false);
  auto raw = frame_event(keep, false);
  if (!raw) return raw.error();
  return decode_event(ctx, *raw);
}

TEST(DecodeEvent, RotateXidAndGtids) {
  {
    Buf b;
    b.u64(4).str("binlog.000002");
    auto e = decode(4, b);
    ASSERT_TRUE(e.ok());
    const auto& r = std::get<RotateEvent>(e->body);
    EXPECT_EQ(r.position, 4u);
    EXPECT_EQ(r.next_file, "binlog.000002");
  }
  {
    Buf b;
    b.u64(123456789);
    auto e = decode(16, b);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<XidEvent>(e->body).xid, 123456789u);
    EXPECT_FALSE(decode(16, Buf{}.u32(1)).ok());
  }
  {
    Buf b;
    b.u8(1);
    for (int i = 0; i < 16; ++i) b.u8(0x10 + i);
    b.u64(42).u8(2).u64(7).u64(8);
    b.le(1700000000000000ull, 7);  // immediate commit timestamp, no original (bit 55 clear)
    b.packed(1234);
    auto e = decode(33, b);
    ASSERT_TRUE(e.ok()) << e.error().detail;
    const auto& g = std::get<GtidEvent>(e->body);
    EXPECT_EQ(g.gno, 42u);
    EXPECT_EQ(g.uuid(), "10111213-1415-1617-1819-1a1b1c1d1e1f");
    EXPECT_EQ(g.last_committed, 7u);
    EXPECT_EQ(g.sequence_number, 8u);
    EXPECT_EQ(g.transaction_length, 1234u);
    EXPECT_FALSE(g.anonymous);
    auto anon = decode(34, Buf{b}.u8(0));
    ASSERT_TRUE(anon.ok());
    EXPECT_TRUE(std::get<GtidEvent>(anon->body).anonymous);
    // 5.6 GTID: no logical timestamps.
    Buf old;
    old.u8(1).raw(std::vector<std::byte>(16, std::byte{0})).u64(3);
    auto o = decode(33, old);
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(std::get<GtidEvent>(o->body).last_committed.has_value());
    EXPECT_FALSE(decode(33, Buf{}.u8(1).u64(0)).ok());
    // Tagged GTIDs are skipped by length.
    auto tagged = decode(42, Buf{}.u8(0xff));
    ASSERT_TRUE(tagged.ok());
    EXPECT_TRUE(std::get<GtidEvent>(tagged->body).tagged);
  }
}

TEST(DecodeEvent, MariaDbEvents) {
  {
    Buf b;
    b.u64(100).u32(3).u8(0x2).u64(55);
    auto e = decode(162, b);
    ASSERT_TRUE(e.ok()) << e.error().detail;
    const auto& g = std::get<MariadbGtidEvent>(e->body);
    EXPECT_EQ(g.seq_no, 100u);
    EXPECT_EQ(g.domain_id, 3u);
    EXPECT_EQ(g.server_id, 7u);
    EXPECT_EQ(g.commit_id, 55u);
    EXPECT_EQ(g.gtid(), "3-7-100");
    EXPECT_FALSE(decode(162, Buf{}.u64(100).u32(3).u8(0x2)).ok());  // commit id missing
  }
  {
    Buf b;
    b.u32(2).u32(0).u32(1).u64(10).u32(1).u32(2).u64(20);
    auto e = decode(163, b);
    ASSERT_TRUE(e.ok()) << e.error().detail;
    const auto& l = std::get<MariadbGtidListEvent>(e->body);
    ASSERT_EQ(l.gtids.size(), 2u);
    EXPECT_EQ(l.gtids[1].seq_no, 20u);
    // A count bomb is refused before anything is allocated for it.
    EXPECT_FALSE(decode(163, Buf{}.u32(0x0fffffff).u32(0)).ok());
  }
  {
    Buf b;
    b.u32(16).str("mariadb-bin.0001");
    auto e = decode(161, b);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<BinlogCheckpointEvent>(e->body).file, "mariadb-bin.0001");
    EXPECT_FALSE(decode(161, Buf{}.u32(1000).str("x")).ok());
  }
  {
    auto e = decode(160, Buf{}.str("UPDATE t SET a=1"));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<RowsQueryEvent>(e->body).query, "UPDATE t SET a=1");
  }
  {
    auto e = decode(164, Buf{}.u8(1).u32(9).raw(std::vector<std::byte>(12, std::byte{0})));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<StartEncryptionEvent>(e->body).key_version, 9u);
  }
}

TEST(DecodeEvent, SmallMySqlEventsAndUnknownTypes) {
  {
    auto e = decode(29, Buf{}.u8(5).str("hello"));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<RowsQueryEvent>(e->body).query, "hello");
  }
  {
    auto e = decode(26, Buf{}.u16(1).u8(4).str("lost"));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(std::get<IncidentEvent>(e->body).message, "lost");
  }
  {
    Buf b;
    b.u8(1).u8(9).str("binlog.01").u8(2).u8(4).packed(70000);
    auto e = decode(41, b);
    ASSERT_TRUE(e.ok()) << e.error().detail;
    const auto& h = std::get<HeartbeatEvent>(e->body);
    EXPECT_EQ(h.log_name, "binlog.01");
    EXPECT_EQ(h.position, 70000u);
    EXPECT_FALSE(decode(41, Buf{}.u8(1).u8(50).str("x")).ok());
  }
  for (uint8_t type : {0, 7, 99, 150, 173, 255}) {
    auto e = decode(type, Buf{}.str("whatever"));
    ASSERT_TRUE(e.ok()) << int(type);
    EXPECT_TRUE(std::holds_alternative<OtherEvent>(e->body)) << int(type);
  }
  {
    auto fde = make_fde("8.0.32", 41, true, 1);
    auto raw = frame_event(fde, true);
    ASSERT_TRUE(raw.ok());
    auto e = decode_event(DecodeContext{}, *raw);
    ASSERT_TRUE(e.ok()) << e.error().detail;
    EXPECT_TRUE(std::holds_alternative<FormatDescription>(e->body));
  }
}

// ---------------------------------------------------------------------------------------------
// DecodeContext

TEST(DecodeContext, AppliesFormatAndBoundsTheTableMap) {
  DecodeContext ctx(2);
  EXPECT_FALSE(ctx.has_format());
  EXPECT_FALSE(ctx.checksums());
  EXPECT_EQ(ctx.format().post_header(19), 8);  // v4 defaults before any FDE
  auto fde_ev = make_fde("8.0.32", 41, true, 1);
  auto raw = frame_event(fde_ev, true);
  ASSERT_TRUE(raw.ok());
  auto ev = decode_event(ctx, *raw);
  ASSERT_TRUE(ev.ok());
  ctx.apply(*ev);
  EXPECT_TRUE(ctx.has_format());
  EXPECT_TRUE(ctx.checksums());

  auto map = [](uint64_t id) {
    TableMap m;
    m.table_id = id;
    m.schema = "s";
    m.table = "t" + std::to_string(id);
    return m;
  };
  ctx.apply_table_map(map(1));
  ctx.apply_table_map(map(2));
  EXPECT_EQ(ctx.table_count(), 2u);
  ASSERT_TRUE(ctx.table(1));
  EXPECT_EQ(ctx.table(1)->table, "t1");
  ctx.apply_table_map(map(2));  // re-mapping an id does not grow the map
  EXPECT_EQ(ctx.table_count(), 2u);
  auto kept = ctx.table(1);
  ctx.apply_table_map(map(3));  // over the bound: the map is reset, never grows past it
  EXPECT_LE(ctx.table_count(), 2u);
  ASSERT_TRUE(ctx.table(3));
  EXPECT_EQ(kept->table, "t1");  // holders of a shared map keep it alive
  EXPECT_EQ(ctx.table(99), nullptr);
  for (uint64_t id = 10; id < 1000; ++id) ctx.apply_table_map(map(id));
  EXPECT_LE(ctx.table_count(), 2u);
  ctx.clear_tables();
  EXPECT_EQ(ctx.table_count(), 0u);
}

// ---------------------------------------------------------------------------------------------
// MariaDB compressed blocks

TEST(MariadbUncompress, ZlibRoundTripForEveryLengthWidth) {
  std::mt19937 rng(7);
  for (size_t len : {size_t{0}, size_t{1}, size_t{10}, size_t{255}, size_t{256}, size_t{65535},
                     size_t{65536}, size_t{300000}}) {
    std::vector<std::byte> data(len);
    for (auto& b : data) b = static_cast<std::byte>(rng() % 16 + 'a');
    for (int lenlen = 1; lenlen <= 4; ++lenlen) {
      if (lenlen < 4 && len >> (8 * lenlen)) continue;  // does not fit the length field
      SCOPED_TRACE("len " + std::to_string(len) + " lenlen " + std::to_string(lenlen));
      const auto block = mariadb_block(data, lenlen);
      EXPECT_EQ(std::to_integer<int>(block[0]), 0x80 | lenlen);
      auto out = mariadb_uncompress(block, 1 << 20);
      ASSERT_TRUE(out.ok()) << out.error().detail;
      EXPECT_EQ(*out, data);
    }
  }
}

TEST(MariadbUncompress, BadHeadersAreRefused) {
  const auto good = mariadb_block(text_bytes("hello hello hello"));
  auto with_head = [&](uint8_t head) {
    auto b = good;
    b[0] = static_cast<std::byte>(head);
    return b;
  };
  {
    auto r = mariadb_uncompress(with_head(0x01), 1 << 20);  // compressed bit missing
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
  }
  for (uint8_t alg = 1; alg < 8; ++alg) {  // only zlib (0) exists
    auto r = mariadb_uncompress(with_head(0x80 | (alg << 4) | 1), 1 << 20);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Unsupported) << int(alg);
  }
  for (uint8_t lenlen : {0, 5, 6, 7}) {
    auto r = mariadb_uncompress(with_head(0x80 | lenlen), 1 << 20);
    ASSERT_FALSE(r.ok()) << int(lenlen);
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
  }
  EXPECT_FALSE(mariadb_uncompress({}, 1 << 20).ok());
  // The length field cut short.
  Buf cut;
  cut.u8(0x83).u8(0).u8(1);
  EXPECT_FALSE(mariadb_uncompress(cut, 1 << 20).ok());
}

TEST(MariadbUncompress, LengthBombsAreRefused) {
  // Declared 4 GiB - 1 with a limit of 1 MiB: refused from the header alone.
  Buf bomb;
  bomb.u8(0x84).u8(0xff).u8(0xff).u8(0xff).u8(0xff).raw(zlib_compress(text_bytes("tiny")));
  auto r = mariadb_uncompress(bomb, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
  EXPECT_NE(r.error().detail.find("exceeds the limit"), std::string::npos) << r.error().detail;
  // A real stream that inflates to more than declared is refused, not written past the buffer.
  const std::vector<std::byte> big(1 << 20, std::byte{'z'});
  Buf lie;
  lie.u8(0x82).u8(0x01).u8(0x00).raw(zlib_compress(big));  // declares 256 bytes
  auto l = mariadb_uncompress(lie, 64 << 20);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().kind, ErrorKind::Malformed);
  // And one that inflates to less than declared.
  Buf shorter;
  shorter.u8(0x82).u8(0x10).u8(0x00).raw(zlib_compress(text_bytes("abc")));
  EXPECT_FALSE(mariadb_uncompress(shorter, 1 << 20).ok());
  // Found while fuzzing: under the 4 GiB event limit the decoders pass in, a 28-byte block
  // declaring 3.75 GiB made it allocate and zero all of it. A length its zlib bytes cannot hold
  // (deflate expands at most 1032:1) is refused up front.
  Buf tiny_bomb;
  tiny_bomb.u8(0x84).u8(0x20).u8(0).u8(0).u8(0).raw(zlib_compress(text_bytes("x")));  // 512 MiB
  auto t = mariadb_uncompress(tiny_bomb, kMaxEventSize);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().detail.find("zlib bytes can hold"), std::string::npos) << t.error().detail;
  // A real highly compressible block right at deflate's ratio still inflates.
  const std::vector<std::byte> zeros(4 << 20, std::byte{0});
  auto z = mariadb_uncompress(mariadb_block(zeros), kMaxEventSize);
  ASSERT_TRUE(z.ok()) << z.error().detail;
  EXPECT_EQ(z->size(), zeros.size());
  // Exactly at the limit is fine; one above is not.
  const std::vector<std::byte> k(1000, std::byte{'k'});
  EXPECT_TRUE(mariadb_uncompress(mariadb_block(k), 1000).ok());
  EXPECT_FALSE(mariadb_uncompress(mariadb_block(k), 999).ok());
}

TEST(MariadbUncompress, CorruptStreams) {
  std::vector<std::byte> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>((i * 31) % 251);
  const auto good = mariadb_block(data);
  ASSERT_TRUE(mariadb_uncompress(good, 1 << 20).ok());
  // Every truncation of the stream fails.
  for (size_t n = 0; n < good.size(); n += 7) {
    EXPECT_FALSE(mariadb_uncompress(Bytes(good).first(n), 1 << 20).ok()) << n;
  }
  // Flipped bytes either fail or (if the zlib Adler-32 still matched, impossible for one flip)
  // return the original size; never anything else.
  for (size_t i = 3; i < good.size(); i += 5) {
    auto bad = good;
    bad[i] ^= std::byte{0x21};
    auto r = mariadb_uncompress(bad, 1 << 20);
    EXPECT_FALSE(r.ok()) << "flip at " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// PayloadReader

// Inner events of a TRANSACTION_PAYLOAD: 19-byte header with log_pos 0, no checksum.
std::vector<std::byte> inner_event(uint8_t type, const Buf& body) {
  return make_event(type, body, false, 0, 0);
}

std::vector<std::byte> inner_transaction() {
  Buf out;
  out.raw(inner_event(2, query_body(Buf{}.u8(0).u32(0), "test", "BEGIN")));
  Buf map;
  map.u48(90).u16(1).u8(4).str("test").u8(0).u8(3).str("tb1").u8(0).packed(1).u8(3).packed(0).u8(1);
  out.raw(inner_event(19, map));
  Buf rows;
  rows.u48(90).u16(1).u16(2).packed(1).u8(1).u8(0).u32(42);
  out.raw(inner_event(30, rows));
  out.raw(inner_event(16, Buf{}.u64(1000)));
  return out.b;
}

std::vector<std::byte> zstd_stream_compress(Bytes data, size_t feed = 4096) {
  ZSTD_CStream* cs = ZSTD_createCStream();
  EXPECT_FALSE(ZSTD_isError(ZSTD_initCStream(cs, 3)));
  std::vector<std::byte> out;
  std::vector<std::byte> chunk(ZSTD_CStreamOutSize());
  size_t pos = 0;
  // Fed piecewise through ZSTD_compressStream: the frame header then carries no content size,
  // exactly like the server's (MySQL libs/mysql/binlog/event/compression/zstd_comp.cpp).
  while (pos < data.size()) {
    const size_t n = std::min(feed, data.size() - pos);
    ZSTD_inBuffer in{data.data() + pos, n, 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
      EXPECT_FALSE(ZSTD_isError(ZSTD_compressStream(cs, &o, &in)));
      out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<long>(o.pos));
    }
    pos += n;
  }
  while (true) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const size_t left = ZSTD_endStream(cs, &o);
    EXPECT_FALSE(ZSTD_isError(left));
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<long>(o.pos));
    if (left == 0) break;
  }
  ZSTD_freeCStream(cs);
  return out;
}

struct Walked {
  std::vector<uint8_t> types;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> sizes;
  uint64_t bytes = 0;
};

Result<uint64_t> walk(PayloadReader& reader, const TransactionPayloadEvent& p, Walked& w) {
  return reader.for_each_event(p, [&](const EventHeader& h, Bytes event, uint64_t off) {
    EXPECT_EQ(event.size(), h.event_size);
    EXPECT_EQ(h.log_pos, 0u);
    w.types.push_back(h.type);
    w.offsets.push_back(off);
    w.sizes.push_back(h.event_size);
    w.bytes += event.size();
    return true;
  });
}

// The offset a PayloadReader error names ("... at uncompressed offset N: ...").
uint64_t located_offset(const DecodeError& e) {
  const std::string key = "uncompressed offset ";
  const size_t at = e.detail.find(key);
  EXPECT_NE(at, std::string::npos) << e.detail;
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(e.detail.substr(at + key.size()));
}

TEST(PayloadReader, ZstdFrameWithoutContentSize) {
  const auto plain = inner_transaction();
  const auto frame = zstd_stream_compress(plain, 7);
  // The frame header declares no content size (FCS flag 0, not single-segment).
  ASSERT_GE(frame.size(), 6u);
  EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  const uint8_t fhd = std::to_integer<uint8_t>(frame[4]);
  EXPECT_EQ(fhd >> 6, 0);
  EXPECT_EQ((fhd >> 5) & 1, 0);

  TransactionPayloadEvent p;
  p.compression = 0;
  p.payload = frame;
  p.payload_size = frame.size();
  p.uncompressed_size = plain.size();
  PayloadReader reader;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, plain.size());
  EXPECT_EQ(w.types, (std::vector<uint8_t>{2, 19, 30, 16}));
  EXPECT_EQ(w.offsets.front(), 0u);
  EXPECT_EQ(w.bytes, plain.size());
  for (size_t i = 1; i < w.offsets.size(); ++i) {
    EXPECT_EQ(w.offsets[i], w.offsets[i - 1] + w.sizes[i - 1]);
  }
  // The reader is reusable: a second payload through the same reader gives the same walk.
  Walked again;
  ASSERT_TRUE(walk(reader, p, again).ok());
  EXPECT_EQ(again.types, w.types);
  // Without a declared uncompressed size (field 3 absent) it still walks.
  p.uncompressed_size = 0;
  Walked undeclared;
  ASSERT_TRUE(walk(reader, p, undeclared).ok());
  EXPECT_EQ(undeclared.types, w.types);
}

TEST(PayloadReader, UncompressedPayload) {
  const auto plain = inner_transaction();
  TransactionPayloadEvent p;
  p.compression = 255;
  p.payload = plain;
  p.payload_size = plain.size();
  p.uncompressed_size = plain.size();
  PayloadReader reader;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(w.types, (std::vector<uint8_t>{2, 19, 30, 16}));
}

TEST(PayloadReader, UnknownCompressionIsUnsupported) {
  TransactionPayloadEvent p;
  p.compression = 1;
  PayloadReader reader;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Unsupported);
}

// Many events crossing the reader's decompression chunks, and one event larger than a chunk.
TEST(PayloadReader, LargePayloadAcrossChunks) {
  Buf plain;
  std::vector<uint32_t> sizes;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = "INSERT INTO t VALUES (" + std::to_string(i) + ", '" +
                             std::string(static_cast<size_t>(i % 400), 'a' + i % 26) + "')";
    auto ev = inner_event(2, query_body(Buf{}, "db", text));
    sizes.push_back(static_cast<uint32_t>(ev.size()));
    plain.raw(ev);
    if (i == 1500) {
      auto big = inner_event(2, query_body(Buf{}, "db", std::string(700000, 'q')));
      sizes.push_back(static_cast<uint32_t>(big.size()));
      plain.raw(big);
    }
  }
  const auto frame = zstd_stream_compress(plain);
  TransactionPayloadEvent p;
  p.payload = frame;
  p.payload_size = frame.size();
  p.uncompressed_size = plain.size();
  PayloadReader reader;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, plain.size());
  EXPECT_EQ(w.sizes, sizes);
}

TEST(PayloadReader, DeclaredSizeOverrunIsRefused) {
  const auto plain = inner_transaction();
  const auto frame = zstd_stream_compress(plain);
  TransactionPayloadEvent p;
  p.payload = frame;
  p.payload_size = frame.size();
  PayloadReader reader;
  for (uint64_t declared : {uint64_t{1}, uint64_t{19}, uint64_t{plain.size() - 27},
                            uint64_t{plain.size() - 1}}) {
    SCOPED_TRACE("declared " + std::to_string(declared));
    p.uncompressed_size = declared;
    Walked w;
    auto r = walk(reader, p, w);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
    EXPECT_LE(w.bytes, declared);  // nothing past the declared size was handed out
    EXPECT_NE(r.error().detail.find("transaction payload at uncompressed offset"), std::string::npos)
        << r.error().detail;
  }
  // Declared larger than what the frame holds.
  p.uncompressed_size = plain.size() + 1;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
}

// A decompression bomb with no declared size is still bounded by the reader's event limit.
TEST(PayloadReader, InnerEventLargerThanTheLimit) {
  Buf plain;
  plain.raw(inner_event(2, query_body(Buf{}, "db", std::string(5000, 'x'))));
  const auto frame = zstd_stream_compress(plain);
  TransactionPayloadEvent p;
  p.payload = frame;
  p.payload_size = frame.size();
  PayloadReader reader(1000);
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
  EXPECT_TRUE(w.types.empty());
}

// zstd frame: magic, frame header, then blocks of 3-byte headers (last bit, type, size).
std::vector<size_t> zstd_block_offsets(const std::vector<std::byte>& frame) {
  const uint8_t fhd = std::to_integer<uint8_t>(frame[4]);
  const unsigned fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, dict = fhd & 3;
  static constexpr size_t kDictSize[4] = {0, 1, 2, 4};
  static constexpr size_t kFcsSize[4] = {0, 2, 4, 8};
  size_t pos = 4 + 1 + (single ? 0 : 1) + kDictSize[dict] +
               (fcs_flag == 0 ? (single ? 1 : 0) : kFcsSize[fcs_flag]);
  std::vector<size_t> out;
  while (pos + 3 <= frame.size()) {
    const uint32_t bh = std::to_integer<uint32_t>(frame[pos]) |
                        std::to_integer<uint32_t>(frame[pos + 1]) << 8 |
                        std::to_integer<uint32_t>(frame[pos + 2]) << 16;
    out.push_back(pos);
    const uint32_t type = (bh >> 1) & 3, size = bh >> 3;
    pos += 3 + (type == 1 ? 1 : size);
    if (bh & 1) break;
  }
  return out;
}

TEST(PayloadReader, CorruptFrameIsLocated) {
  // ~640 KB of events: the frame holds several 128 KB blocks.
  Buf plain;
  std::mt19937 rng(11);
  for (int i = 0; i < 640; ++i) {
    std::string text(1000, ' ');
    for (auto& ch : text) ch = static_cast<char>('a' + rng() % 8);
    plain.raw(inner_event(2, query_body(Buf{}, "db", text)));
  }
  const auto frame = zstd_stream_compress(plain, 1 << 20);
  const auto blocks = zstd_block_offsets(frame);
  ASSERT_GE(blocks.size(), 4u);
  TransactionPayloadEvent p;
  p.payload_size = frame.size();
  p.uncompressed_size = plain.size();

  {  // Block 4 gets the reserved block type 3: zstd reports a corrupted block there.
    auto bad = frame;
    bad[blocks[3]] |= std::byte{0x06};
    p.payload = bad;
    PayloadReader reader;
    Walked w;
    auto r = walk(reader, p, w);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Malformed);
    EXPECT_NE(r.error().detail.find("zstd"), std::string::npos) << r.error().detail;
    const uint64_t at = located_offset(r.error());
    EXPECT_GT(at, 0u) << r.error().detail;
    EXPECT_LE(at, 3u * 128 * 1024) << r.error().detail;  // not past the start of the bad block
    EXPECT_LE(w.bytes, at);  // events before it were handed out, nothing after
  }
  {  // The frame cut in the middle: the reader says where the output stopped.
    p.payload = Bytes(frame).first(frame.size() / 2);
    p.payload_size = p.payload.size();
    PayloadReader reader;
    Walked w;
    auto r = walk(reader, p, w);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Truncated);
    EXPECT_GT(located_offset(r.error()), 0u);
  }
  {  // Garbage instead of a frame.
    std::vector<std::byte> junk(200, std::byte{0x5a});
    p.payload = junk;
    p.payload_size = junk.size();
    PayloadReader reader;
    Walked w;
    auto r = walk(reader, p, w);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(located_offset(r.error()), 0u);
  }
}

TEST(PayloadReader, BadInnerEventsAreLocated) {
  // An inner event whose event_size is below the header size.
  Buf plain;
  plain.raw(inner_event(16, Buf{}.u64(1)));
  const size_t second = plain.size();
  plain.u32(0).u8(2).u32(1).u32(5).u32(0).u16(0);
  plain.raw(std::vector<std::byte>(20, std::byte{0}));
  const auto frame = zstd_stream_compress(plain);
  TransactionPayloadEvent p;
  p.payload = frame;
  p.payload_size = frame.size();
  p.uncompressed_size = plain.size();
  PayloadReader reader;
  Walked w;
  auto r = walk(reader, p, w);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(located_offset(r.error()), second);
  EXPECT_EQ(w.types, std::vector<uint8_t>{16});

  // Trailing bytes that do not form an event.
  Buf tail;
  tail.raw(inner_event(16, Buf{}.u64(1))).u8(1).u8(2).u8(3);
  const auto frame2 = zstd_stream_compress(tail);
  p.payload = frame2;
  p.payload_size = frame2.size();
  p.uncompressed_size = tail.size();
  Walked w2;
  auto r2 = walk(reader, p, w2);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind, ErrorKind::Truncated);
}

TEST(PayloadReader, CallbackCanStopEarly) {
  const auto plain = inner_transaction();
  const auto frame = zstd_stream_compress(plain);
  TransactionPayloadEvent p;
  p.payload = frame;
  p.payload_size = frame.size();
  p.uncompressed_size = plain.size();
  PayloadReader reader;
  int seen = 0;
  auto r = reader.for_each_event(p, [&](const EventHeader&, Bytes, uint64_t) { return ++seen < 2; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace binwatch::binlog
