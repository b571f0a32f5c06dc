-- typed-rows.sql: a small workload over every common column type, with known row counts.
--
-- typed-rows.expected.json (next to this file) lists, per table, the rows this script writes,
-- updates and deletes, i.e. the rows in WRITE_ROWS, UPDATE_ROWS (one per before/after pair) and
-- DELETE_ROWS events a ROW-format binlog holds for it under any binlog_row_image, checksum or
-- compression setting. Keep the two files in step: tests/mariadb_harness_test.cpp and
-- scripts/make-fixtures.sh check them against `mariadb-binlog --verbose`.
--
-- Rules that keep the counts exact: every UPDATE really changes each row it matches (an UPDATE
-- that changes nothing is not logged), no REPLACE / ON DUPLICATE KEY / triggers / cascades, no
-- CREATE ... SELECT; the rolled-back transaction at the end leaves no rows events.
-- seq_1_to_N (SEQUENCE engine) yields BIGINT UNSIGNED: it is cast to SIGNED so `seq % 256 - 128`
-- may go negative.
-- Plain SQL only (no DELIMITER or other client commands), so it also runs through
-- MariadbServer::exec_file(). Needs MariaDB 10.7+ (UUID; INET4 needs 10.10+) and the SEQUENCE engine.

SET NAMES utf8mb4;
SET SESSION time_zone = '+00:00';
SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
SET SESSION binlog_format = 'ROW';

DROP DATABASE IF EXISTS bw;
CREATE DATABASE bw CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE bw;

-- ---------------------------------------------------------------------------------------------
-- Integers: every width, signed and unsigned, with the extremes in rows 1 (min) and 2 (max).
-- inserts 300 + 1 (transaction), updates 3 + 20, deletes 1 + 10
CREATE TABLE bw.t_int (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  c_tinyint TINYINT NULL,
  c_tinyint_u TINYINT UNSIGNED NULL,
  c_smallint SMALLINT NULL,
  c_smallint_u SMALLINT UNSIGNED NULL,
  c_mediumint MEDIUMINT NULL,
  c_mediumint_u MEDIUMINT UNSIGNED NULL,
  c_int INT NULL,
  c_int_u INT UNSIGNED NULL,
  c_bigint BIGINT NULL,
  c_bigint_u BIGINT UNSIGNED NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_int
SELECT seq,
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -128 WHEN 2 THEN 127 ELSE seq % 256 - 128 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 255 ELSE seq % 256 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -32768 WHEN 2 THEN 32767 ELSE seq * 211 % 65536 - 32768 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 65535 ELSE seq * 211 % 65536 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -8388608 WHEN 2 THEN 8388607 ELSE seq * 40009 % 16777216 - 8388608 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 16777215 ELSE seq * 40009 % 16777216 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -2147483648 WHEN 2 THEN 2147483647
     ELSE seq * 2654435 % 4294967296 - 2147483648 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 4294967295 ELSE seq * 2654435 % 4294967296 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -9223372036854775808 WHEN 2 THEN 9223372036854775807
     ELSE CAST(CONV(LEFT(MD5(seq), 15), 16, 10) AS SIGNED) * IF(seq % 2 = 1, -1, 1) END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 18446744073709551615
     ELSE CAST(CONV(LEFT(MD5(seq), 16), 16, 10) AS UNSIGNED) END)
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_300) AS s;

UPDATE bw.t_int SET c_int = -12345 WHERE id = 3;
UPDATE bw.t_int SET c_tinyint = 1, c_bigint_u = 42 WHERE id = 4;
UPDATE bw.t_int SET c_smallint = NULL, c_mediumint_u = 7 WHERE id = 5;
UPDATE bw.t_int SET c_mediumint = 4242424 WHERE id BETWEEN 101 AND 120;
DELETE FROM bw.t_int WHERE id = 10;
DELETE FROM bw.t_int WHERE id > 290;

-- ---------------------------------------------------------------------------------------------
-- Fixed point, several precisions (1 to 65 digits), and an unsigned one.
-- inserts 200, updates 2, deletes 1 + 1 (transaction)
CREATE TABLE bw.t_decimal (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  d1_0 DECIMAL(1,0) NULL,
  d5_2 DECIMAL(5,2) NULL,
  d10_4 DECIMAL(10,4) NULL,
  d18_9 DECIMAL(18,9) NULL,
  d20_0_u DECIMAL(20,0) UNSIGNED NULL,
  d30_10 DECIMAL(30,10) NULL,
  d65_30 DECIMAL(65,30) NULL,
  d9_3_u DECIMAL(9,3) UNSIGNED NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_decimal
SELECT seq,
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -9 WHEN 2 THEN 9 ELSE seq % 19 - 9 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -999.99 WHEN 2 THEN 999.99 ELSE ROUND(seq * 12.34 % 1999 - 999, 2) END),
  IF(seq % 7 = 0, NULL, seq * 1234.5678 - 100000),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -999999999.999999999 WHEN 2 THEN 999999999.999999999
     ELSE seq * 98765.123456789 - 5000000 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 0 WHEN 2 THEN 99999999999999999999
     ELSE CAST(CONV(LEFT(MD5(seq), 16), 16, 10) AS DECIMAL(20,0)) END),
  IF(seq % 7 = 0, NULL, seq * 12345678901234567.8901234567 * IF(seq % 2 = 1, -1, 1)),
  IF(seq % 7 = 0, NULL, CAST(CONCAT(IF(seq % 2 = 1, '-', ''), REPEAT('9', 1 + seq % 35), '.',
     LPAD(seq * 7919, 30, '0')) AS DECIMAL(65,30))),
  IF(seq % 7 = 0, NULL, seq * 1.5)
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_200) AS s;

UPDATE bw.t_decimal SET d5_2 = 1.50 WHERE id = 1;
UPDATE bw.t_decimal SET d65_30 = -0.000000000000000000000000000001, d1_0 = 0 WHERE id = 2;
DELETE FROM bw.t_decimal WHERE id = 30;

-- ---------------------------------------------------------------------------------------------
-- Floating point, with the extremes and the smallest normals.
-- inserts 100, updates 1, deletes 1
CREATE TABLE bw.t_float (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  f FLOAT NULL,
  d DOUBLE NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_float
SELECT seq,
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -3.402823466E+38 WHEN 2 THEN 3.402823466E+38
     WHEN 3 THEN 1.175494351E-38 ELSE seq / 7 - 5 END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN -1.7976931348623157E+308 WHEN 2 THEN 1.7976931348623157E+308
     WHEN 3 THEN 2.2250738585072014E-308 ELSE PI() * seq - 100 END)
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_100) AS s;

UPDATE bw.t_float SET f = 0.5, d = -0.25 WHERE id = 50;
DELETE FROM bw.t_float WHERE id = 51;

-- ---------------------------------------------------------------------------------------------
-- Temporal types at every fractional precision; rows 1 and 2 hold the minimum and maximum,
-- row 3 the zero values (allowed: no NO_ZERO_DATE in sql_mode).
-- inserts 150, updates 2 + 10, deletes 1
CREATE TABLE bw.t_temporal (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  c_date DATE NULL,
  c_year YEAR NULL,
  c_time0 TIME(0) NULL, c_time1 TIME(1) NULL, c_time2 TIME(2) NULL, c_time3 TIME(3) NULL,
  c_time4 TIME(4) NULL, c_time5 TIME(5) NULL, c_time6 TIME(6) NULL,
  c_dt0 DATETIME(0) NULL, c_dt1 DATETIME(1) NULL, c_dt2 DATETIME(2) NULL, c_dt3 DATETIME(3) NULL,
  c_dt4 DATETIME(4) NULL, c_dt5 DATETIME(5) NULL, c_dt6 DATETIME(6) NULL,
  c_ts0 TIMESTAMP(0) NULL DEFAULT NULL, c_ts1 TIMESTAMP(1) NULL DEFAULT NULL,
  c_ts2 TIMESTAMP(2) NULL DEFAULT NULL, c_ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  c_ts4 TIMESTAMP(4) NULL DEFAULT NULL, c_ts5 TIMESTAMP(5) NULL DEFAULT NULL,
  c_ts6 TIMESTAMP(6) NULL DEFAULT NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_temporal
SELECT seq,
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN '1000-01-01' WHEN 2 THEN '9999-12-31' WHEN 3 THEN '0000-00-00'
     ELSE DATE(dt) END),
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN 1901 WHEN 2 THEN 2155 WHEN 3 THEN 0 ELSE 1901 + seq % 255 END),
  tm, tm, tm, tm, tm, tm, tm,
  dt, dt, dt, dt, dt, dt, dt,
  ts, ts, ts, ts, ts, ts, ts
FROM (
  SELECT seq,
    IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN '-838:59:59.999999' WHEN 2 THEN '838:59:59.999999'
       WHEN 3 THEN '00:00:00' ELSE SEC_TO_TIME(seq * 3607.123457 - 360000) END) AS tm,
    IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN '1000-01-01 00:00:00' WHEN 2 THEN '9999-12-31 23:59:59.999999'
       WHEN 3 THEN '0000-00-00 00:00:00'
       ELSE TIMESTAMP'2001-02-03 04:05:06.123456' + INTERVAL seq * 86413 SECOND + INTERVAL seq * 7 MICROSECOND
       END) AS dt,
    IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN '1970-01-01 00:00:01' WHEN 2 THEN '2038-01-19 03:14:07.999999'
       WHEN 3 THEN '0000-00-00 00:00:00'
       ELSE TIMESTAMP'2021-06-07 08:09:10.654321' + INTERVAL seq * 3671 SECOND + INTERVAL seq * 11 MICROSECOND
       END) AS ts
  FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_150) AS s
) AS g;

UPDATE bw.t_temporal SET c_time6 = '-00:00:00.000001', c_dt3 = '2024-02-29 23:59:59.999' WHERE id = 4;
UPDATE bw.t_temporal SET c_ts6 = '2030-01-01 00:00:00.000001', c_year = NULL WHERE id = 5;
UPDATE bw.t_temporal SET c_date = '2020-02-29' WHERE id BETWEEN 11 AND 20;
DELETE FROM bw.t_temporal WHERE id = 6;

-- ---------------------------------------------------------------------------------------------
-- Strings: short and long (> 255 bytes, so 2-byte lengths and the CHAR > 255 bytes metadata
-- encoding), latin1 and utf8mb4 (2-, 3- and 4-byte characters), binary.
-- inserts 100, updates 3 + 1 (transaction), deletes 2
CREATE TABLE bw.t_string (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  c_char10_latin1 CHAR(10) CHARACTER SET latin1 NULL,
  c_char100_utf8mb4 CHAR(100) NULL,
  c_varchar20 VARCHAR(20) NULL,
  c_varchar1000 VARCHAR(1000) NULL,
  c_varchar300_latin1 VARCHAR(300) CHARACTER SET latin1 NULL,
  c_binary16 BINARY(16) NULL,
  c_varbinary300 VARBINARY(300) NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_string
SELECT seq,
  IF(seq % 7 = 0, NULL, CONCAT('c', seq)),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 1, REPEAT('é日😀', 33), CONCAT('ü-', seq))),
  IF(seq % 7 = 0, NULL, IF(seq = 1, '', LEFT(CONCAT('v', seq, '-', MD5(seq)), 20))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 2, REPEAT('日本', 60 + seq % 10), CONCAT('short ', seq, ' ✓'))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 3, REPEAT('latin1 ', 40), CONCAT('l', seq))),
  IF(seq % 7 = 0, NULL, UNHEX(MD5(seq))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 4, REPEAT(UNHEX(MD5(seq)), 18), UNHEX(LEFT(MD5(seq), 2 * (seq % 16)))))
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_100) AS s;

UPDATE bw.t_string SET c_varchar20 = 'updated' WHERE id = 1;
UPDATE bw.t_string SET c_varchar1000 = REPEAT('ß', 300), c_binary16 = NULL WHERE id = 2;
UPDATE bw.t_string SET c_char100_utf8mb4 = 'x' WHERE id = 3;
DELETE FROM bw.t_string WHERE id IN (7, 8);

-- ---------------------------------------------------------------------------------------------
-- TEXT and BLOB of every size class (1- to 4-byte lengths), with a plain column beside them so
-- binlog_row_image=NOBLOB has something to keep.
-- inserts 40, updates 3, deletes 1
CREATE TABLE bw.t_text (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  tag VARCHAR(10) NOT NULL,
  c_tinytext TINYTEXT NULL,
  c_text TEXT NULL,
  c_mediumtext MEDIUMTEXT NULL,
  c_longtext LONGTEXT NULL,
  c_tinyblob TINYBLOB NULL,
  c_blob BLOB NULL,
  c_mediumblob MEDIUMBLOB NULL,
  c_longblob LONGBLOB NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_text
SELECT seq, CONCAT('t', seq),
  IF(seq % 7 = 0, NULL, IF(seq = 1, '', CONCAT('tiny ', seq))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 2, REPEAT('text ', 60), CONCAT('text ', seq))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 3, REPEAT('медиум ', 20), CONCAT('medium ', seq))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 4, REPEAT('long 😀 ', 40), CONCAT('long ', seq))),
  IF(seq % 7 = 0, NULL, IF(seq = 1, '', UNHEX(MD5(seq)))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 5, REPEAT(UNHEX(MD5(seq)), 20), UNHEX(SHA2(seq, 256)))),
  IF(seq % 7 = 0, NULL, UNHEX(SHA2(seq, 512))),
  IF(seq % 7 = 0, NULL, IF(seq % 10 = 6, REPEAT(UNHEX(SHA2(seq, 512)), 6), UNHEX(MD5(seq))))
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_40) AS s;

UPDATE bw.t_text SET tag = 'retagged' WHERE id = 2;
UPDATE bw.t_text SET c_text = 'changed text' WHERE id = 3;
UPDATE bw.t_text SET c_blob = UNHEX('00FF00FF') WHERE id = 4;
DELETE FROM bw.t_text WHERE id = 5;

-- ---------------------------------------------------------------------------------------------
-- ENUM and SET with 1- and 2-byte (ENUM) and 1- to 8-byte (SET) storage, BIT(1..64).
-- inserts 200, updates 2, deletes 100
SET @enum_values = (SELECT GROUP_CONCAT(CONCAT('''v', seq, '''') ORDER BY seq) FROM seq_1_to_300);
SET @set_values = (SELECT GROUP_CONCAT(CONCAT('''m', seq, '''') ORDER BY seq) FROM seq_1_to_64);
SET @ddl = CONCAT('CREATE TABLE bw.t_enum_set_bit (',
  'id INT UNSIGNED NOT NULL PRIMARY KEY, ',
  'e_small ENUM(''a'',''b'',''c'') NULL, ',
  'e_large ENUM(', @enum_values, ') NULL, ',
  's_small SET(''x'',''y'',''z'') NULL, ',
  's_large SET(', @set_values, ') NULL, ',
  'b1 BIT(1) NULL, b7 BIT(7) NULL, b8 BIT(8) NULL, b9 BIT(9) NULL, b17 BIT(17) NULL, ',
  'b32 BIT(32) NULL, b63 BIT(63) NULL, b64 BIT(64) NULL',
  ') ENGINE=InnoDB');
PREPARE create_enum_set_bit FROM @ddl;
EXECUTE create_enum_set_bit;
DEALLOCATE PREPARE create_enum_set_bit;

INSERT INTO bw.t_enum_set_bit
SELECT seq,
  IF(seq % 7 = 0, NULL, ELT(1 + seq % 3, 'a', 'b', 'c')),
  IF(seq % 7 = 0, NULL, CONCAT('v', 1 + seq % 300)),
  IF(seq % 7 = 0, NULL, seq % 8),
  IF(seq % 7 = 0, NULL, IF(seq = 2, 18446744073709551615, h)),
  IF(seq % 7 = 0, NULL, h & 1),
  IF(seq % 7 = 0, NULL, h & 127),
  IF(seq % 7 = 0, NULL, h & 255),
  IF(seq % 7 = 0, NULL, h & 511),
  IF(seq % 7 = 0, NULL, h & 131071),
  IF(seq % 7 = 0, NULL, h & 4294967295),
  IF(seq % 7 = 0, NULL, h & 9223372036854775807),
  IF(seq % 7 = 0, NULL, IF(seq = 2, 18446744073709551615, h))
FROM (
  SELECT CAST(seq AS SIGNED) AS seq, CAST(CONV(LEFT(MD5(seq), 16), 16, 10) AS UNSIGNED) AS h
  FROM seq_1_to_200
) AS g;

UPDATE bw.t_enum_set_bit SET e_large = 'v300', s_large = 'm1,m64', b64 = 0 WHERE id = 1;
UPDATE bw.t_enum_set_bit SET e_small = NULL, b1 = NOT b1 WHERE id = 2;
DELETE FROM bw.t_enum_set_bit WHERE id > 100;

-- ---------------------------------------------------------------------------------------------
-- JSON (a LONGTEXT with a json_valid check in MariaDB).
-- inserts 60 + 1 (transaction), updates 2, deletes 1
CREATE TABLE bw.t_json (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  j JSON NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_json
SELECT seq,
  IF(seq % 7 = 0, NULL, CASE seq WHEN 1 THEN '[]' WHEN 2 THEN '{}'
     ELSE JSON_OBJECT('id', seq, 'name', CONCAT('n', seq), 'tags', JSON_ARRAY(seq % 3, 'x', NULL),
                      'nested', JSON_OBJECT('even', seq % 2 = 0, 'ratio', seq / 3)) END)
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_60) AS s;

UPDATE bw.t_json SET j = JSON_SET(j, '$.name', 'renamed') WHERE id = 3;
UPDATE bw.t_json SET j = '{"was": null}' WHERE id = 7;
DELETE FROM bw.t_json WHERE id = 9;

-- ---------------------------------------------------------------------------------------------
-- Spatial types.
-- inserts 50, updates 1, deletes 1
CREATE TABLE bw.t_geo (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  g GEOMETRY NULL,
  p POINT NULL,
  l LINESTRING NULL,
  poly POLYGON NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_geo
SELECT seq,
  IF(seq % 7 = 0, NULL, IF(seq % 2 = 0, POINT(seq, -seq),
     ST_GeomFromText(CONCAT('LINESTRING(0 0,', seq, ' ', seq, ')')))),
  IF(seq % 7 = 0, NULL, POINT(seq / 10, seq * 1.5)),
  IF(seq % 7 = 0, NULL, ST_GeomFromText(CONCAT('LINESTRING(0 0,1 ', seq, ',', seq, ' 2)'))),
  IF(seq % 7 = 0, NULL,
     ST_GeomFromText(CONCAT('POLYGON((0 0,0 ', seq, ',', seq, ' ', seq, ',', seq, ' 0,0 0))')))
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_50) AS s;

UPDATE bw.t_geo SET p = POINT(-1, -1) WHERE id = 3;
DELETE FROM bw.t_geo WHERE id = 4;

-- ---------------------------------------------------------------------------------------------
-- MariaDB's own fixed-size types: INET6 (10.5), UUID (10.7; RFC 4122 version 4 values, as
-- recent releases reject other variants), INET4 (10.10).
-- inserts 80, updates 1, deletes 1
CREATE TABLE bw.t_inet (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  ip6 INET6 NULL,
  u UUID NULL,
  ip4 INET4 NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_inet
SELECT seq,
  IF(seq % 7 = 0, NULL, IF(seq % 2 = 0, CONCAT('2001:db8::', HEX(seq)), CONCAT('::ffff:10.0.0.', seq))),
  IF(seq % 7 = 0, NULL, CONCAT(SUBSTR(MD5(seq), 1, 8), '-', SUBSTR(MD5(seq), 9, 4), '-4', SUBSTR(MD5(seq), 14, 3),
     '-', ELT(1 + seq % 4, '8', '9', 'a', 'b'), SUBSTR(MD5(seq), 18, 3), '-', SUBSTR(MD5(seq), 21, 12))),
  IF(seq % 7 = 0, NULL, CONCAT('192.168.', seq DIV 256, '.', seq % 256))
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_80) AS s;

UPDATE bw.t_inet SET ip6 = '::1', u = '00000000-0000-0000-0000-000000000000', ip4 = '0.0.0.0' WHERE id = 5;
DELETE FROM bw.t_inet WHERE id = 6;

-- ---------------------------------------------------------------------------------------------
-- No primary key: row images identify rows by all columns even with binlog_row_image=MINIMAL.
-- inserts 50, updates 2, deletes 1
CREATE TABLE bw.t_nopk (
  a INT NOT NULL,
  b VARCHAR(20) NULL
) ENGINE=InnoDB;

INSERT INTO bw.t_nopk SELECT seq, IF(seq % 7 = 0, NULL, CONCAT('b', seq)) FROM seq_1_to_50;

UPDATE bw.t_nopk SET b = 'changed' WHERE a IN (1, 2);
DELETE FROM bw.t_nopk WHERE a = 3;

-- ---------------------------------------------------------------------------------------------
-- One transaction over four tables (one GTID, one XID).
START TRANSACTION;
INSERT INTO bw.t_int (id, c_int) VALUES (1001, 1001);
UPDATE bw.t_string SET c_varchar20 = 'in transaction' WHERE id = 20;
DELETE FROM bw.t_decimal WHERE id = 20;
INSERT INTO bw.t_json VALUES (1001, '{"transaction": true}');
COMMIT;

-- A rolled-back transaction writes nothing to the binlog.
START TRANSACTION;
INSERT INTO bw.t_nopk SELECT seq, 'rolled back' FROM seq_1_to_5;
DELETE FROM bw.t_int WHERE id < 100;
ROLLBACK;
