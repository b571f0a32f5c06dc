// Pure parts of `binwatch preflight`, no server: the DML classifier, DSN parsing, settings,
// column encodings and table-map sizes, the estimator and the verdict policy.
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "binwatch/mysql/connection.h"
#include "binwatch/policy/preflight_policy.h"
#include "binwatch/preflight/estimate.h"
#include "binwatch/preflight/server_settings.h"
#include "binwatch/preflight/sidecar.h"
#include "binwatch/preflight/table_shape.h"
#include "binwatch/sql/statement.h"

namespace binwatch {
namespace {

using namespace preflight;

sql::Dml dml(const std::string& text) {
  auto r = sql::parse_dml(text);
  if (auto* e = std::get_if<sql::ParseError>(&r)) ADD_FAILURE() << text << ": " << e->message;
  return std::get<sql::Dml>(r);
}

std::string parse_error(const std::string& text) {
  auto r = sql::parse_dml(text);
  if (auto* e = std::get_if<sql::ParseError>(&r)) return e->message;
  return "";
}

TEST(Statement, SingleTableDelete) {
  const auto d = dml("DELETE LOW_PRIORITY FROM `app`.posts WHERE group_id IN (1, 2) AND title <> 'x;y' ORDER BY id LIMIT 500;");
  EXPECT_EQ(d.kind, sql::DmlKind::Delete);
  EXPECT_EQ(d.schema, "app");
  EXPECT_EQ(d.table, "posts");
  EXPECT_EQ(d.where, "group_id IN (1, 2) AND title <> 'x;y'");
  EXPECT_EQ(d.order_by, "id");
  EXPECT_EQ(d.limit, 500u);
  EXPECT_EQ(dml("delete from t").where, "");
}

TEST(Statement, SingleTableUpdateKeepsExpressions) {
  const auto d = dml("UPDATE app.`groups` SET posts_count = posts_count - 1, updated_at = NOW(6), "
                     "name = CONCAT(name, ',', 'x') WHERE id = :group_id");
  EXPECT_EQ(d.kind, sql::DmlKind::Update);
  EXPECT_EQ(d.table, "groups");
  ASSERT_EQ(d.assignments.size(), 3u);
  EXPECT_EQ(d.assignments[0].column, "posts_count");
  EXPECT_EQ(d.assignments[0].expression, "posts_count - 1");
  EXPECT_EQ(d.assignments[2].expression, "CONCAT(name, ',', 'x')");
  EXPECT_EQ(d.where, "id = :group_id");
}

TEST(Statement, MultiTableFormsAreRefusedWithAReason) {
  EXPECT_NE(parse_error("DELETE p FROM posts p JOIN groups g ON g.id = p.group_id").find("multi-table"), std::string::npos);
  EXPECT_NE(parse_error("DELETE FROM posts USING posts JOIN groups").find("multi-table"), std::string::npos);
  EXPECT_NE(parse_error("DELETE FROM a, b USING a JOIN b").find("multi-table"), std::string::npos);
  EXPECT_NE(parse_error("UPDATE posts p JOIN groups g ON g.id = p.group_id SET g.n = 1").find("not supported"), std::string::npos);
  EXPECT_NE(parse_error("UPDATE a, b SET a.x = b.x").find("multi-table"), std::string::npos);
  EXPECT_NE(parse_error("INSERT INTO t VALUES (1)").find("only DELETE and UPDATE"), std::string::npos);
  EXPECT_NE(parse_error("WITH x AS (SELECT 1) DELETE FROM t").find("WITH"), std::string::npos);
  EXPECT_NE(parse_error("DELETE FROM t WHERE a = 'open").find("unterminated"), std::string::npos);
}

TEST(Statement, BindsAreFoundAndSubstitutedOutsideStrings) {
  const std::string s = "UPDATE g SET note = ':not_a_bind', n = n - 1 WHERE id = :group_id AND k = :kind OR id = :group_id";
  EXPECT_EQ(sql::bind_names(s), (std::vector<std::string>{"group_id", "kind"}));
  EXPECT_EQ(sql::substitute_binds("id = :group_id AND x = ':group_id'", {{"group_id", "'7'"}}),
            "id = '7' AND x = ':group_id'");
  EXPECT_THROW(sql::substitute_binds("id = :missing", {}), std::out_of_range);
}

TEST(Statement, SimpleTriggerBodiesBecomeStatementsWithBinds) {
  const auto body = sql::trigger_statement("BEGIN\n  INSERT INTO audit (pid, note) VALUES (OLD.id, CONCAT('gone ', OLD.`title`));\nEND");
  ASSERT_TRUE(std::holds_alternative<std::string>(body)) << std::get<sql::ParseError>(body).message;
  EXPECT_EQ(std::get<std::string>(body), "INSERT INTO audit (pid, note) VALUES (:id, CONCAT('gone ', :title))");
  EXPECT_EQ(std::get<std::string>(sql::trigger_statement("UPDATE p SET n = n - 1 WHERE id = OLD.pid")),
            "UPDATE p SET n = n - 1 WHERE id = :pid");
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("BEGIN INSERT INTO a VALUES (1); DELETE FROM b; END")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("SET @x = OLD.id")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("INSERT INTO a VALUES (NEW.id)")));
  // A quoted OLD. name the bind syntax cannot carry is refused (it would read back as `:my`); a
  // quoted plain identifier is fine.
  const auto dash = sql::trigger_statement("INSERT INTO a (x) VALUES (OLD.`my-col`)");
  ASSERT_TRUE(std::holds_alternative<sql::ParseError>(dash));
  EXPECT_NE(std::get<sql::ParseError>(dash).message.find("my-col"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("DELETE FROM a WHERE x = OLD.`1st`")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("DELETE FROM a WHERE x = OLD.`a b`")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::trigger_statement("DELETE FROM a WHERE x = OLD.``")));
  EXPECT_EQ(std::get<std::string>(sql::trigger_statement("DELETE FROM a WHERE x = OLD.`my_col2`")),
            "DELETE FROM a WHERE x = :my_col2");

  const auto ins = sql::parse_insert("INSERT INTO d.audit (pid, note, at) VALUES (:id, CONCAT('a, b', :t), NOW())");
  ASSERT_TRUE(std::holds_alternative<sql::Insert>(ins)) << std::get<sql::ParseError>(ins).message;
  const auto& i = std::get<sql::Insert>(ins);
  EXPECT_EQ(i.schema, "d");
  EXPECT_EQ(i.table, "audit");
  EXPECT_EQ(i.columns, (std::vector<std::string>{"pid", "note", "at"}));
  EXPECT_EQ(i.values, (std::vector<std::string>{":id", "CONCAT('a, b', :t)", "NOW()"}));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::parse_insert("INSERT INTO a SELECT * FROM b")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::parse_insert("INSERT INTO a (x) VALUES (1), (2)")));
  EXPECT_TRUE(std::holds_alternative<sql::ParseError>(sql::parse_insert("INSERT INTO a (x, y) VALUES (1)")));
}

TEST(Statement, FunctionsThatActOutsideAReadOnlyTransactionAreFound) {
  EXPECT_EQ(sql::acts_outside_transaction("CONCAT('x', :id), NOW(), NEXTVAL(s), f(:a)"), std::nullopt);
  EXPECT_EQ(sql::acts_outside_transaction("'sleep(1)', `get_lock`"), std::nullopt);  // no calls
  const auto why = sql::acts_outside_transaction("INSERT INTO a VALUES (:id + sleep (1))");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("SLEEP()"), std::string::npos) << *why;
  EXPECT_TRUE(sql::acts_outside_transaction("IF(Get_Lock('k', 0), 1, 2)").has_value());
  EXPECT_TRUE(sql::acts_outside_transaction("load_file('/etc/passwd')").has_value());
  EXPECT_TRUE(sql::acts_outside_transaction("'unterminated").has_value());
}

// information_schema.COLUMNS.COLUMN_DEFAULT as SQL text: MariaDB quotes it already, MySQL 8 gives
// the bare value (as SQL text `pending` would be a column name: error 1054).
TEST(Shape, ColumnDefaultsBecomeSqlPerFlavor) {
  using O = std::optional<std::string>;
  EXPECT_EQ(default_sql(std::nullopt, "", "varchar", Flavor::MariaDB), std::nullopt);
  EXPECT_EQ(default_sql(std::nullopt, "", "varchar", Flavor::MySQL), std::nullopt);
  EXPECT_EQ(default_sql(O("'pending'"), "", "varchar", Flavor::MariaDB), O("'pending'"));
  EXPECT_EQ(default_sql(O("NULL"), "", "varchar", Flavor::MariaDB), O("NULL"));
  EXPECT_EQ(default_sql(O("current_timestamp()"), "", "datetime", Flavor::MariaDB), O("current_timestamp()"));
  EXPECT_EQ(default_sql(O("0"), "", "int", Flavor::MariaDB), O("0"));

  EXPECT_EQ(default_sql(O("pending"), "", "varchar", Flavor::MySQL), O("'pending'"));
  EXPECT_EQ(default_sql(O("it's"), "", "varchar", Flavor::MySQL), O("'it''s'"));
  EXPECT_EQ(default_sql(O("a\\b"), "", "varchar", Flavor::MySQL), O("X'615C62'"));
  EXPECT_EQ(default_sql(O("a\nb"), "", "text", Flavor::MySQL), O("X'610A62'"));
  EXPECT_EQ(default_sql(O(""), "", "varchar", Flavor::MySQL), O("''"));
  EXPECT_EQ(default_sql(O("NULL"), "", "varchar", Flavor::MySQL), O("'NULL'"));  // the string NULL
  EXPECT_EQ(default_sql(O("0"), "", "int", Flavor::MySQL), O("'0'"));
  EXPECT_EQ(default_sql(O("2020-01-01 00:00:00"), "", "datetime", Flavor::MySQL), O("'2020-01-01 00:00:00'"));
  EXPECT_EQ(default_sql(O("CURRENT_TIMESTAMP"), "DEFAULT_GENERATED", "timestamp", Flavor::MySQL),
            O("(CURRENT_TIMESTAMP)"));
  EXPECT_EQ(default_sql(O("(now() + interval 1 day)"), "DEFAULT_GENERATED on update CURRENT_TIMESTAMP",
                        "datetime", Flavor::MySQL),
            O("((now() + interval 1 day))"));
  EXPECT_EQ(default_sql(O("CURRENT_TIMESTAMP(3)"), "", "datetime", Flavor::MySQL), O("CURRENT_TIMESTAMP(3)"));
  EXPECT_EQ(default_sql(O("CURRENT_TIMESTAMP"), "", "varchar", Flavor::MySQL), O("'CURRENT_TIMESTAMP'"));
  EXPECT_EQ(default_sql(O("b'101'"), "", "bit", Flavor::MySQL), O("b'101'"));
  EXPECT_EQ(default_sql(O("0x6162"), "", "varbinary", Flavor::MySQL), O("0x6162"));
  EXPECT_EQ(default_sql(O("0x6162"), "", "varchar", Flavor::MySQL), O("'0x6162'"));
}

TEST(Dsn, ParsesAndRefusesPasswords) {
  mysql::ConnectionOptions o;
  mysql::apply_dsn("mysql://app@db1.example:3307/shop", o);
  EXPECT_EQ(o.user, "app");
  EXPECT_EQ(o.host, "db1.example");
  EXPECT_EQ(o.port, 3307u);
  EXPECT_EQ(o.database, "shop");
  mysql::ConnectionOptions v6;
  mysql::apply_dsn("mysql://[::1]:3306", v6);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 3306u);
  mysql::ConnectionOptions bad;
  try {
    mysql::apply_dsn("mysql://app:secret@db1/shop", bad);
    FAIL() << "a password in the DSN must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << "never echo the password";
  }
  EXPECT_THROW(mysql::apply_dsn("postgres://x@y", bad), std::invalid_argument);
  EXPECT_THROW(mysql::apply_dsn("mysql://x@y:99999", bad), std::invalid_argument);
}

TEST(Settings, FromVariables) {
  std::vector<std::string> warnings;
  const auto s = settings_from_variables({{"version", "10.11.19-MariaDB-0+deb12u1-log"},
                                          {"binlog_format", "ROW"},
                                          {"binlog_row_image", "MINIMAL"},
                                          {"binlog_checksum", "NONE"},
                                          {"log_bin_compress", "ON"},
                                          {"log_bin_compress_min_len", "256"},
                                          {"expire_logs_days", "2.500000"},
                                          {"binlog_expire_logs_seconds", "0"},
                                          {"max_binlog_cache_size", "18446744073709547520"},
                                          {"binlog_annotate_row_events", "OFF"}},
                                         &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(s.is_mariadb());
  EXPECT_EQ(s.row_image, RowImage::Minimal);
  EXPECT_FALSE(s.checksum_crc32);
  EXPECT_TRUE(s.mariadb_compress);
  EXPECT_EQ(s.expire_seconds, 216000u);
  EXPECT_FALSE(s.log_statement_with_rows);
  EXPECT_EQ(s.max_binlog_cache_size, 18446744073709547520ull);
  const auto m = settings_from_variables({{"version", "8.0.36"}, {"binlog_format", "weird"}}, &warnings);
  EXPECT_EQ(m.flavor, Flavor::MySQL);
  EXPECT_EQ(warnings.size(), 1u);
}

InfoSchemaColumn col(std::string name, std::string type, std::string column_type, bool nullable = true) {
  InfoSchemaColumn c;
  c.name = std::move(name);
  c.data_type = std::move(type);
  c.column_type = std::move(column_type);
  c.nullable = nullable;
  return c;
}

// The table of the hand-checked experiment: `d`.`p` (id INT PK, name VARCHAR(50) utf8mb4,
// cnt INT NOT NULL, updated_at DATETIME(6), bio TEXT) logged a 49-byte TABLE_MAP and a 1054-byte
// DELETE_ROWS for one row with a 1000-byte bio (MariaDB 10.11, CRC32, FULL, NO_LOG).
TableShape parent_shape() {
  TableShape t;
  t.schema = "d";
  t.table = "p";
  auto id = col("id", "int", "int(11)", false);
  id.column_key = "PRI";
  auto name = col("name", "varchar", "varchar(50)");
  name.octet_length = 200;
  name.collation_id = 45;
  auto cnt = col("cnt", "int", "int(11)", false);
  auto at = col("updated_at", "datetime", "datetime(6)");
  at.datetime_precision = 6;
  auto bio = col("bio", "text", "text");
  bio.octet_length = 65535;
  bio.collation_id = 45;
  for (const auto& c : {id, name, cnt, at, bio}) t.columns.push_back(column_spec(c, Flavor::MariaDB));
  t.has_primary_key = true;
  return t;
}

ServerSettings mariadb() {
  return settings_from_variables({{"version", "10.11.19-MariaDB"}});
}

SampleRow parent_row(size_t bio) {
  SampleRow r;
  r.before = {{false, "1", {}}, {false, "a", {}}, {false, "0", {}}, {false, "2026-11-22 02:38:58.432156", {}},
              {false, std::string(bio, 'x'), {}}};
  return r;
}

TEST(Shape, TableMapAndRowImageMatchTheMeasuredEvents) {
  const auto t = parent_shape();
  const auto s = mariadb();
  EXPECT_EQ(table_map_event_size(t, s), 49u);
  const auto ic = image_columns(t, RowImage::Full, sql::DmlKind::Delete, {});
  const std::string image = encode_image(t, parent_row(1000).before, ic.before);
  EXPECT_EQ(image.size(), 1021u);
  const RowsEvents ev = pack_rows_events(s, t.columns.size(), false, {&image});
  EXPECT_EQ(ev.bytes, 1054u);
  // MINIMAL: the primary key only (measured: 38 bytes).
  const auto min = image_columns(t, RowImage::Minimal, sql::DmlKind::Delete, {});
  const std::string pk = encode_image(t, parent_row(1000).before, min.before);
  EXPECT_EQ(pack_rows_events(s, t.columns.size(), false, {&pk}).bytes, 38u);
  // Fixed events: GTID 42, XID 31, ANNOTATE_ROWS of a 26-byte statement 49.
  EXPECT_EQ(gtid_event_size(s), 42u);
  EXPECT_EQ(xid_event_size(s), 31u);
  EXPECT_EQ(annotate_event_size(s, 26), 49u);
}

TEST(Shape, ColumnEncodings) {
  auto dec = col("d", "decimal", "decimal(12,2)");
  dec.numeric_precision = 12;
  dec.numeric_scale = 2;
  EXPECT_EQ(column_spec(dec, Flavor::MariaDB).layout.fixed, 6u);
  auto ts = col("t", "timestamp", "timestamp(3)");
  ts.datetime_precision = 3;
  EXPECT_EQ(column_spec(ts, Flavor::MariaDB).layout.fixed, 6u);
  auto v = col("v", "varchar", "varchar(1000)");
  v.octet_length = 4000;
  EXPECT_EQ(column_spec(v, Flavor::MariaDB).layout.prefix, 2u);
  EXPECT_EQ(column_spec(col("e", "enum", "enum('a','b''c')"), Flavor::MariaDB).enum_set_names,
            (std::vector<std::string>{"a", "b'c"}));
  EXPECT_EQ(column_spec(col("s", "set", "set('a','b','c','d','e','f','g','h','i')"), Flavor::MariaDB).layout.fixed, 2u);
  EXPECT_EQ(column_spec(col("j", "json", "longtext"), Flavor::MariaDB).layout.prefix, 4u);
  EXPECT_TRUE(column_spec(col("j", "json", "json"), Flavor::MySQL).mysql_json);
  auto bits = col("b", "bit", "bit(13)");
  bits.numeric_precision = 13;
  EXPECT_EQ(column_spec(bits, Flavor::MariaDB).layout.fixed, 2u);
  EXPECT_THROW(column_spec(col("x", "frobnicate", "frobnicate"), Flavor::MariaDB), std::runtime_error);
}

TEST(Shape, ImageColumnsPerMode) {
  const auto t = parent_shape();
  const auto assigned = assigned_columns(t, {{"cnt", "cnt - 1"}});
  const auto full = image_columns(t, RowImage::Full, sql::DmlKind::Update, assigned);
  EXPECT_EQ(full.after, (std::vector<bool>{true, true, true, true, true}));
  const auto min = image_columns(t, RowImage::Minimal, sql::DmlKind::Update, assigned);
  EXPECT_EQ(min.before, (std::vector<bool>{true, false, false, false, false}));
  EXPECT_EQ(min.after, (std::vector<bool>{false, false, true, false, false}));
  const auto noblob = image_columns(t, RowImage::NoBlob, sql::DmlKind::Delete, {});
  EXPECT_EQ(noblob.before, (std::vector<bool>{true, true, true, true, false}));
}

JobModel delete_job(size_t rows, size_t bio) {
  JobModel j;
  j.dml = dml("DELETE FROM d.p WHERE id > 0");
  j.statement_text = "DELETE FROM d.p WHERE id > 0";
  j.shape = parent_shape();
  for (size_t i = 0; i < 50; ++i) j.sample.push_back(parent_row(bio));
  j.count = {rows, rows, rows, "exact COUNT(*)"};
  return j;
}

TEST(Estimator, RowsTimesImagePlusPerTransactionOverhead) {
  const auto s = mariadb();
  const auto e = estimate(s, delete_job(1000, 1000));
  // Every row is its own event (1021 + 8 + 1 + 1 bytes of data is under 8192 only 7 at a time).
  EXPECT_EQ(e.transactions, 1u);
  EXPECT_NEAR(static_cast<double>(e.bytes), 1000 * 1021.0 + 143 * 35 + 42 + 31 + 49 + 51, 1000 * 1021.0 * 0.01);
  EXPECT_LE(e.low, e.bytes);
  EXPECT_GE(e.high, e.bytes);
  auto batched = delete_job(1000, 1000);
  batched.batch_rows = 100;
  const auto b = estimate(s, batched);
  EXPECT_EQ(b.transactions, 10u);
  EXPECT_GT(b.bytes, e.bytes);
  EXPECT_LT(b.largest_transaction_bytes, e.largest_transaction_bytes);
}

TEST(Estimator, CompressionShrinksRepetitiveRows) {
  auto s = mariadb();
  s.mariadb_compress = true;
  s.compress_min_len = 10;
  const auto e = estimate(s, delete_job(1000, 4000));
  EXPECT_LT(e.compression_ratio, 0.1);
  EXPECT_LT(e.bytes, e.uncompressed_bytes / 5);
}

SampleRow random_row(std::mt19937& rng, size_t bio) {
  SampleRow r = parent_row(bio);
  for (char& ch : r.before[4].bytes) ch = static_cast<char>('a' + rng() % 26);
  return r;
}

// A clustered table: half its key range is repetitive, half random. The compression ratio of the
// runs then varies from run to run, and that sampling error widens the range; runs that hold every
// row of the job make the ratio exact.
TEST(Estimator, ClusteredRunsWidenTheRangeCompleteRunsDoNot) {
  auto s = mariadb();
  s.mariadb_compress = true;
  s.compress_min_len = 10;
  std::mt19937 rng(7);
  JobModel j = delete_job(100000, 60);
  j.sample.clear();
  for (size_t i = 0; i < 400; ++i) j.sample.push_back(i % 2 ? random_row(rng, 60) : parent_row(60));
  for (size_t r = 0; r < 48; ++r) {
    std::vector<SampleRow> run;
    for (size_t i = 0; i < 90; ++i) run.push_back(r % 2 ? random_row(rng, 60) : parent_row(60));
    j.runs.push_back(run);
  }
  const auto rr = runs_compression_ratio(s, j);
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->runs, 48u);
  EXPECT_EQ(rr->rows, 48u * 90);
  EXPECT_GT(rr->relative_error, 0.1);
  const auto sampled = estimate(s, j);
  EXPECT_GT(static_cast<double>(sampled.high - sampled.low) / static_cast<double>(sampled.bytes), 2 * rr->relative_error);

  // All the job's rows in one run: they are the sample, packed and compressed as the server does.
  JobModel whole = j;
  whole.count = {4320, 4320, 4320, "exact COUNT(*)"};
  whole.runs = {{}};
  for (const auto& run : j.runs) whole.runs[0].insert(whole.runs[0].end(), run.begin(), run.end());
  whole.runs_complete = true;
  EXPECT_EQ(runs_compression_ratio(s, whole)->relative_error, 0);
  const auto complete = estimate(s, whole);
  EXPECT_EQ(complete.sampled_rows, 4320u);
  EXPECT_LT(static_cast<double>(complete.high - complete.low) / static_cast<double>(complete.bytes),
            static_cast<double>(sampled.high - sampled.low) / static_cast<double>(sampled.bytes));
  // The run length follows the image the server writes: MINIMAL deletes log the key only.
  EXPECT_GT(mean_payload_bytes(s, j), 60);
  s.row_image = RowImage::Minimal;
  EXPECT_LT(mean_payload_bytes(s, j), 10);
}

TEST(Estimator, UnchangedUpdatesWriteNothingAndStatementFormatLogsText) {
  auto s = mariadb();
  JobModel j = delete_job(1000, 100);
  j.dml = dml("UPDATE d.p SET cnt = cnt WHERE id > 0");
  for (auto& r : j.sample) {
    r.after = r.before;
    r.changes = false;
  }
  EXPECT_EQ(estimate(s, j).bytes, 0u);
  s.format = BinlogFormat::Statement;
  const auto st = estimate(s, delete_job(1000, 100000));
  EXPECT_LT(st.bytes, 300u) << "one QUERY event, whatever the rows weigh";
  s.format = BinlogFormat::Mixed;
  auto limited = delete_job(1000, 100);
  limited.batch_rows = 100;
  EXPECT_EQ(estimate(s, limited).model.rfind("row", 0), 0u) << "LIMIT is unsafe: MIXED logs rows";
}

TEST(Estimator, PerRowStatementsAmplify) {
  const auto s = mariadb();
  JobModel j = delete_job(100, 10);
  PerRowStatement st;
  st.text = "UPDATE d.p SET cnt = cnt - 1 WHERE id = :id";
  st.dml = dml(st.text);
  st.shape = parent_shape();
  for (size_t i = 0; i < j.sample.size(); ++i) {
    SampleRow parent = parent_row(50000);
    parent.after = parent.before;
    parent.after[2].bytes = "-1";
    st.changes.push_back({parent});
    st.text_bytes.push_back(st.text.size());
  }
  j.per_row.push_back(st);
  const auto e = estimate(s, j);
  EXPECT_EQ(e.transactions, 100u);
  EXPECT_GT(e.bytes, 100u * 2 * 50000) << "each deleted row rewrites the fat parent twice (before + after)";
  EXPECT_NE(e.model.find("ORM"), std::string::npos);
}

TEST(Estimator, WarnsAboutCacheAndTriggers) {
  auto s = mariadb();
  s.max_binlog_cache_size = 100000;
  auto j = delete_job(1000, 1000);
  j.shape.triggers = {"AFTER DELETE audit"};
  const auto e = estimate(s, j);
  ASSERT_EQ(e.warnings.size(), 2u);
  EXPECT_NE(e.warnings[0].find("triggers"), std::string::npos);
  EXPECT_NE(e.warnings[1].find("max_binlog_cache_size"), std::string::npos);
}

// The document `binwatch watch` serves at /api/v1/status (trimmed: the fields preflight reads).
const char* kStatus = R"({
  "tables": [
    {"schema": "d", "table": "other", "bytes": 10, "rows": 1, "events": 2, "inserts": 1, "updates": 0, "deletes": 0},
    {"schema": "d", "table": "p", "bytes": 1200000, "rows": 2000, "events": 300, "inserts": 100,
     "updates": 0, "deletes": 1900, "columns": []}],
  "partitions": [
    {"mount": "/", "roles": ["datadir"], "size": 100, "avail": 50},
    {"mount": "/binlog", "roles": ["binlog", "relaylog"], "size": 1000000000, "avail": 400000000,
     "growth_bytes_per_second": {"used": 1234.5, "basis": "binlog"}}]
})";

TEST(Sidecar, ReadsTheTableAndTheBinlogPartition) {
  const auto j = nlohmann::json::parse(kStatus);
  const auto t = sidecar_table(j, "d", "p");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->bytes, 1200000u);
  EXPECT_EQ(t->rows, 2000u);
  EXPECT_EQ(t->deletes, 1900u);
  EXPECT_FALSE(sidecar_table(j, "d", "nope").has_value());
  EXPECT_FALSE(sidecar_table(nlohmann::json::parse("{}"), "d", "p").has_value());
  const auto p = sidecar_binlog_partition(j);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->mount, "/binlog");
  EXPECT_EQ(p->avail, 400000000u);
  EXPECT_DOUBLE_EQ(p->growth_bytes_per_second.value_or(0), 1234.5);
}

TEST(Sidecar, LearnedBytesPerRowAreUsedOnlyWithEnoughRowsOfTheJobsKind) {
  const auto s = mariadb();
  const auto status = nlohmann::json::parse(kStatus);
  const SidecarTable observed = *sidecar_table(status, "d", "p");
  auto e = estimate(s, delete_job(1000, 1000));
  const uint64_t sampled = e.bytes, table_part = e.table_bytes;
  ASSERT_GT(table_part, 0u);
  const auto c = calibrate(e, sql::DmlKind::Delete, observed, "http://x");
  EXPECT_TRUE(c.used) << c.reason;
  EXPECT_DOUBLE_EQ(c.observed_bytes_per_row, 600.0);
  EXPECT_EQ(c.sampled_bytes, sampled);
  // 600 B/row instead of the sampled ~1050 for the table part; GTID/XID/annotate stay.
  EXPECT_EQ(e.bytes, sampled - table_part + 600u * 1000);
  EXPECT_LE(e.low, e.bytes);
  EXPECT_GE(e.high, e.bytes);

  auto u = estimate(s, delete_job(1000, 1000));
  EXPECT_FALSE(calibrate(u, sql::DmlKind::Update, observed, "http://x").used) << "updates were not observed";
  EXPECT_EQ(u.bytes, sampled);
  SidecarTable few = observed;
  few.rows = 500;
  few.deletes = 500;
  auto f = estimate(s, delete_job(1000, 1000));
  const auto fc = calibrate(f, sql::DmlKind::Delete, few, "http://x");
  EXPECT_FALSE(fc.used);
  EXPECT_NE(fc.reason.find("fewer than 1000"), std::string::npos) << fc.reason;
  SidecarTable mixed = observed;
  mixed.inserts = 1000;
  mixed.deletes = 1000;
  auto m = estimate(s, delete_job(1000, 1000));
  EXPECT_FALSE(calibrate(m, sql::DmlKind::Delete, mixed, "http://x").used) << "half the rows are inserts";
}

policy::JobFigures job(uint64_t bytes, uint64_t rows) {
  policy::JobFigures j;
  j.bytes = bytes;
  j.high = bytes;
  j.rows = rows;
  j.largest_transaction_bytes = bytes;
  return j;
}

TEST(Policy, NoGoWithTheMissingBytes) {
  policy::PreflightPolicy p;
  p.reserve_bytes = 1000;
  p.reserve_percent = 0;
  const auto v = policy::decide(p, job(10'000, 100), {100'000, 6'000, 0});
  EXPECT_EQ(v.decision, policy::Decision::NoGo);
  EXPECT_EQ(v.missing_bytes, 5'000u);
  EXPECT_EQ(policy::exit_code(v.decision), 20);
}

TEST(Policy, GoWhenItFitsSlowly) {
  policy::PreflightPolicy p;
  p.reserve_bytes = 0;
  p.reserve_percent = 10;
  p.warn_time_to_full_seconds = 3600;
  p.assumed_rows_per_second = 100;  // 10'000 rows: 100 s
  const auto v = policy::decide(p, job(1'000'000, 10'000), {1'000'000'000'000, 500'000'000'000, 0});
  EXPECT_EQ(v.decision, policy::Decision::Go);
  EXPECT_EQ(policy::exit_code(v.decision), 0);
  EXPECT_EQ(v.reserve_bytes, 100'000'000'000u);
}

TEST(Policy, ThrottleKeepsTimeToFullAboveTheWarningLevel) {
  policy::PreflightPolicy p;
  p.reserve_bytes = 0;
  p.reserve_percent = 0;
  p.warn_time_to_full_seconds = 3600;
  p.assumed_rows_per_second = 10'000;
  p.max_transaction_bytes = 1ull << 40;
  // 50 GB in 1M rows at 10k rows/s = 500 MB/s against 100 GB free: full in 200 s < 1 h.
  auto j = job(50'000'000'000, 1'000'000);
  j.batch_rows = 1000;
  j.largest_transaction_bytes = 50'000'000;
  const auto v = policy::decide(p, j, {200'000'000'000, 100'000'000'000, 1'000'000});
  ASSERT_EQ(v.decision, policy::Decision::Throttle);
  EXPECT_EQ(policy::exit_code(v.decision), 10);
  ASSERT_TRUE(v.recommended_batch_rows && v.recommended_sleep_ms);
  // The recommended plan writes at most usable / warn - growth.
  const double allowed = 100e9 / 3600 - 1e6;
  const double cycle = static_cast<double>(*v.recommended_batch_rows) / 10'000 + *v.recommended_sleep_ms / 1000.0;
  EXPECT_LE(50'000.0 * static_cast<double>(*v.recommended_batch_rows) / cycle, allowed * 1.001);
  // Growth alone leaving less than the warning level is no-go.
  EXPECT_EQ(policy::decide(p, job(1, 1), {1000, 1000, 10}).decision, policy::Decision::NoGo);
}

TEST(Policy, TransactionsOverTheBinlogCacheAreSplit) {
  policy::PreflightPolicy p;
  p.reserve_bytes = 0;
  p.reserve_percent = 0;
  auto j = job(10'000'000, 10'000);
  j.max_binlog_cache_size = 1'000'000;
  const auto v = policy::decide(p, j, {1ull << 40, 1ull << 40, 0});
  ASSERT_EQ(v.decision, policy::Decision::Throttle);
  EXPECT_LE(*v.recommended_batch_rows, 1000u);
}

TEST(Policy, TomlOverridesAndErrors) {
  const auto p = policy::parse_preflight_policy("[reserve]\nbytes = 5\npercent = 2.5\n[throttle]\nwarn_time_to_full_seconds = 60\n");
  EXPECT_EQ(p.reserve_bytes, 5u);
  EXPECT_DOUBLE_EQ(p.reserve_percent, 2.5);
  EXPECT_DOUBLE_EQ(p.warn_time_to_full_seconds, 60);
  EXPECT_EQ(p.max_transaction_bytes, policy::PreflightPolicy{}.max_transaction_bytes);
  EXPECT_THROW(policy::parse_preflight_policy("[reserve]\nbytes = \"lots\"\n"), std::invalid_argument);
  EXPECT_THROW(policy::parse_preflight_policy("[reserve\n"), std::invalid_argument);
}

TEST(Policy, ShippedPolicyFileParses) {
  std::ifstream in(std::string(BINWATCH_SOURCE_DIR) + "/policies/preflight.toml");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto p = policy::parse_preflight_policy(ss.str());
  const policy::PreflightPolicy d;
  EXPECT_EQ(p.reserve_bytes, d.reserve_bytes);
  EXPECT_DOUBLE_EQ(p.warn_time_to_full_seconds, d.warn_time_to_full_seconds);
  EXPECT_DOUBLE_EQ(p.assumed_orm_rows_per_second, d.assumed_orm_rows_per_second);
}

}  // namespace
}  // namespace binwatch
