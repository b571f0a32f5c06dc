// libFuzzer target for the binlog decoder. Each input goes through two paths:
//  1. As a whole binlog stream through scan_binlog (from memory, with and without a known size;
//     prefixed with the magic when it lacks one so random inputs reach the decoder). The
//     attribution contract must hold: tables + statement + overhead + magic + torn + corrupt ==
//     total_bytes == input size, a torn tail ends at the end of the input, errors lie inside it.
//  2. Event by event through the pure decoders (frame_event, decode_event, walk_rows, and the
//     PayloadReader for TRANSACTION_PAYLOAD) with a DecodeContext primed by a server's format
//     description (MySQL 8.0, MySQL 5.7, MariaDB 10.11 or MySQL 5.0, chosen by the last byte).
// Any violation aborts with a message. Seeds: every binlog of the fixtures (scripts/fuzz-smoke.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/attribution.h"
#include "binwatch/binlog/checksum.h"
#include "binwatch/binlog/decode_context.h"
#include "binwatch/binlog/decoder.h"
#include "binwatch/binlog/format_description.h"
#include "binwatch/binlog/payload_reader.h"
#include "binwatch/binlog/row_walker.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"

namespace {

using namespace binwatch;
using namespace binwatch::binlog;

[[noreturn]] void fail(const char* what, uint64_t a = 0, uint64_t b = 0) {
  std::fprintf(stderr, "decoder_fuzz: invariant violated: %s (%llu, %llu)\n", what,
               static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  std::abort();
}

void require(bool cond, const char* what, uint64_t a = 0, uint64_t b = 0) {
  if (!cond) fail(what, a, b);
}


void scan_stream(Bytes data, bool known_size) {
  MemorySource src("fuzz-input", data, known_size);
  Attribution a;
  FileSummary f;
  try {
    f = scan_binlog(src, a);
  } catch (const FatalScanError&) {
    return;  // not a binlog / encrypted: reported as such, nothing to attribute
  }
  const uint64_t size = data.size();
  const OtherBytes& o = a.other;
  const uint64_t sum = a.table_bytes() + o.statement + o.overhead + o.magic + o.torn + o.corrupt;
  require(a.total_bytes == size, "total_bytes == input size", a.total_bytes, size);
  require(sum == size, "buckets add up to the input size", sum, size);
  require(f.size == size, "summary size == input size", f.size, size);
  require(o.magic == 4, "magic bucket is 4 bytes", o.magic);
  if (f.torn_tail) {
    require(f.torn_tail->offset + f.torn_tail->bytes == size, "torn tail ends at the end",
            f.torn_tail->offset + f.torn_tail->bytes, size);
    require(o.torn == f.torn_tail->bytes, "torn bucket == torn tail", o.torn, f.torn_tail->bytes);
  } else {
    require(o.torn == 0, "torn bytes without a torn tail", o.torn);
  }
  for (const auto& e : a.errors) {
    require(e.offset < size, "error offset inside the input", e.offset, size);
    require(!e.detail.empty(), "error has a detail");
  }
  for (const auto& t : a.tables()) {
    require(t.events == t.table_map_events + t.rows_events, "table events add up", t.events);
    require(t.rows == t.inserts + t.updates + t.deletes, "table rows add up", t.rows);
    require(t.bytes >= t.table_map_bytes, "table map bytes within table", t.bytes, t.table_map_bytes);
  }
}

// A FORMAT_DESCRIPTION event as the given server writes it (post-header tables as logged by
// MySQL 8.0.32, MySQL 5.7.30, MariaDB 10.11.19 and MySQL 5.0.86).
std::vector<std::byte> fde_event(int flavor) {
  static const std::vector<uint8_t> kMysql80 = {0, 13, 0, 8, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0,
                                                98, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0,
                                                0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10, 40, 0};
  static const std::vector<uint8_t> kMysql57 = {56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0,
                                                0, 95, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2,
                                                0, 0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0};
  static const std::vector<uint8_t> kMysql50 = {56, 13, 0, 8, 0, 18, 0, 4, 4,
                                                4, 4, 18, 0, 0, 75, 0, 4, 26};
  std::vector<uint8_t> table;
  std::string version;
  bool trailer = true;
  uint8_t alg = 1;
  switch (flavor) {
    case 0: version = "8.0.32"; table = kMysql80; break;
    case 1: version = "5.7.30-log"; table = kMysql57; alg = 0; break;
    case 2: {
      version = "10.11.19-MariaDB-log";
      table = {56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 228, 0, 4, 26, 8, 0, 0, 0, 8, 8,
               8, 2, 0, 0, 0, 10, 10, 10};
      table.resize(160, 0);  // 161..171: MariaDB events 160-171
      for (uint8_t v : {4, 19, 4, 0, 13, 8, 8, 8, 10, 10, 10}) table.push_back(v);
      break;
    }
    default: version = "5.0.86-log"; table = kMysql50; trailer = false; break;
  }
  std::vector<uint8_t> body;
  body.push_back(4);
  body.push_back(0);
  version.resize(50, '\0');
  body.insert(body.end(), version.begin(), version.end());
  for (int i = 0; i < 4; ++i) body.push_back(0);
  body.push_back(19);
  body.insert(body.end(), table.begin(), table.end());
  if (trailer) body.push_back(alg);
  const uint32_t size = static_cast<uint32_t>(19 + body.size() + (trailer ? 4 : 0));
  std::vector<std::byte> ev;
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) ev.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  };
  put(1700000000, 4);
  put(15, 1);
  put(1, 4);
  put(size, 4);
  put(size + 4, 4);
  put(0, 2);
  for (uint8_t b : body) ev.push_back(static_cast<std::byte>(b));
  if (trailer) put(crc32(ev), 4);
  return ev;
}

const FormatDescription& primed_format(int flavor) {
  static const auto formats = [] {
    std::vector<FormatDescription> out;
    for (int f = 0; f < 4; ++f) {
      const auto ev = fde_event(f);
      auto h = parse_event_header(ev);
      require(h.ok(), "built FDE header parses");
      auto fde = parse_format_description(*h, ev);
      require(fde.ok(), "built FDE parses", static_cast<uint64_t>(f));
      out.push_back(*fde);
    }
    return out;
  }();
  return formats[static_cast<size_t>(flavor)];
}

void walk_decoded(DecodeContext& ctx, const Event& ev) {
  if (auto* rows = std::get_if<RowsEvent>(&ev.body)) {
    require(rows->columns_before.size() == (rows->width + 7) / 8, "before bitmap size",
            rows->columns_before.size(), rows->width);
    require(rows->columns_after.size() == (rows->width + 7) / 8, "after bitmap size",
            rows->columns_after.size(), rows->width);
    if (auto map = ctx.table(rows->table_id)) {
      ColumnBytes cols;
      auto s = walk_rows(*map, *rows, &cols);
      if (s) {
        require(s->image_bytes == rows->rows.size(), "row walk covers the images", s->image_bytes,
                rows->rows.size());
        require(s->rows <= s->images, "rows <= images", s->rows, s->images);
        uint64_t sum = cols.image_overhead;
        for (size_t i = 0; i < cols.before.size(); ++i) sum += cols.before[i] + cols.after[i];
        require(sum == rows->rows.size(), "column bytes add up to the images", sum, rows->rows.size());
      } else {
        require(!s.error().detail.empty(), "row walk error has a detail");
      }
    }
  } else if (auto* map = std::get_if<TableMap>(&ev.body)) {
    require(map->metadata.size() == map->types.size() && map->layouts.size() == map->types.size(),
            "table map vectors agree", map->types.size());
    require(map->nullable.size() == (map->types.size() + 7) / 8, "NULL bitmap size",
            map->nullable.size());
  }
  ctx.apply(ev);
}

// The input (after a magic, if present) as a sequence of events for the pure decoders.
void decode_events(Bytes data, int flavor) {
  DecodeContext ctx(64);
  ctx.apply_format(primed_format(flavor));
  PayloadReader payload(size_t{1} << 20);
  size_t pos = (data.size() >= 4 && std::memcmp(data.data(), kMagic, 4) == 0) ? 4 : 0;
  for (int n = 0; pos < data.size() && n < 100000; ++n) {
    const Bytes rest = data.subspan(pos);
    auto h = parse_event_header(rest);
    if (!h) {
      require(!h.error().detail.empty(), "header error has a detail");
      return;
    }
    if (h->event_size > rest.size()) return;  // torn
    auto raw = frame_event(rest, ctx.checksums());
    if (!raw) {
      require(!raw.error().detail.empty(), "framing error has a detail");
      pos += h->event_size;
      continue;
    }
    require(raw->event.size() == h->event_size, "framed event size", raw->event.size(), h->event_size);
    require(raw->body.data() >= raw->event.data() &&
                raw->body.data() + raw->body.size() <= raw->event.data() + raw->event.size(),
            "body inside the event");
    auto ev = decode_event(ctx, *raw);
    if (ev) {
      if (auto* tp = std::get_if<TransactionPayloadEvent>(&ev->body)) {
        // Inner events: no checksum, decoded against the same context.
        auto walked = payload.for_each_event(*tp, [&](const EventHeader& ih, Bytes inner, uint64_t) {
          require(inner.size() == ih.event_size, "inner event size", inner.size(), ih.event_size);
          auto iraw = frame_event(inner, false);
          require(iraw.ok(), "inner event frames");
          auto iev = decode_event(ctx, *iraw);
          if (iev) walk_decoded(ctx, *iev);
          return true;
        });
        if (walked) require(*walked <= (uint64_t{1} << 32), "payload size sane", *walked);
      }
      walk_decoded(ctx, *ev);
    } else {
      require(!ev.error().detail.empty(), "decode error has a detail");
    }
    pos += h->event_size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes input(reinterpret_cast<const std::byte*>(data), size);
  const bool has_magic = size >= 4 && std::memcmp(data, kMagic, 4) == 0;
  if (has_magic) {
    scan_stream(input, true);
    scan_stream(input, false);
  } else {
    std::vector<std::byte> with_magic(size + 4);
    std::memcpy(with_magic.data(), kMagic, 4);
    if (size) std::memcpy(with_magic.data() + 4, data, size);
    scan_stream(with_magic, true);
    scan_stream(with_magic, false);
  }
  decode_events(input, size ? data[size - 1] % 4 : 0);
  return 0;
}
