-- demo-workload.sql: a small blog application's day, for scripts/demo.sh.
--
-- `demo.posts` carries a fat MEDIUMTEXT body (about 6 KB per row) and a comments_count counter
-- cache. With binlog_row_image=FULL every change to a post, even `comments_count - 1`, logs the
-- whole row twice (before and after image), so posts dominates the binlog although most
-- statements touch comments: the pattern behind the "mass destroy filled the binlog partition"
-- incidents. Try the demo with --row-image MINIMAL to watch that share shrink.
--
-- Plain SQL (no client commands); finishes in a few seconds on a laptop.

SET NAMES utf8mb4;
SET SESSION time_zone = '+00:00';
SET SESSION binlog_format = 'ROW';

DROP DATABASE IF EXISTS demo;
CREATE DATABASE demo CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE demo;

CREATE TABLE users (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  email VARCHAR(128) NOT NULL,
  posts_count INT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL
) ENGINE=InnoDB;

CREATE TABLE posts (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  user_id INT UNSIGNED NOT NULL,
  title VARCHAR(200) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  rendered_html MEDIUMTEXT NULL,
  comments_count INT NOT NULL DEFAULT 0,
  updated_at DATETIME NOT NULL,
  KEY (user_id)
) ENGINE=InnoDB;

CREATE TABLE comments (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  post_id INT UNSIGNED NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  body VARCHAR(500) NOT NULL,
  created_at DATETIME NOT NULL,
  KEY (post_id)
) ENGINE=InnoDB;

CREATE TABLE sessions (
  id CHAR(32) NOT NULL PRIMARY KEY,
  user_id INT UNSIGNED NOT NULL,
  last_seen DATETIME NOT NULL
) ENGINE=InnoDB;

-- Sign-ups.
INSERT INTO users (id, name, email, created_at)
SELECT seq, CONCAT('user', seq), CONCAT('user', seq, '@example.com'),
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq MINUTE
FROM seq_1_to_500;

-- Posts with fat bodies: ~3 KB of text plus ~3 KB of rendered HTML each.
INSERT INTO posts (id, user_id, title, body, rendered_html, updated_at)
SELECT seq, 1 + seq % 500, CONCAT('Post number ', seq),
       REPEAT(CONCAT('Lorem ipsum ', MD5(seq), ' dolor sit amet. '), 50),
       CONCAT('<p>', REPEAT(CONCAT(SHA1(seq), ' '), 70), '</p>'),
       TIMESTAMP'2024-01-02 00:00:00' + INTERVAL seq MINUTE
FROM seq_1_to_400;

UPDATE users u JOIN (SELECT user_id, COUNT(*) AS n FROM posts GROUP BY user_id) p ON p.user_id = u.id
SET u.posts_count = p.n;

-- Comments: small rows, many of them.
INSERT INTO comments (id, post_id, user_id, body, created_at)
SELECT seq, 1 + seq % 400, 1 + seq % 497, CONCAT('Nice post! #', seq, ' ', LEFT(MD5(seq), 12)),
       TIMESTAMP'2024-01-03 00:00:00' + INTERVAL seq SECOND
FROM seq_1_to_4000;

-- The counter cache, refreshed in one statement: one before+after image per post (fat rows).
UPDATE posts p JOIN (SELECT post_id, COUNT(*) AS n FROM comments GROUP BY post_id) c ON c.post_id = p.id
SET p.comments_count = c.n;

-- Logins: a hot, tiny table.
INSERT INTO sessions SELECT MD5(seq), 1 + seq % 500, TIMESTAMP'2024-01-04 00:00:00' + INTERVAL seq SECOND
FROM seq_1_to_2000;
UPDATE sessions SET last_seen = last_seen + INTERVAL 1 HOUR WHERE user_id % 3 = 0;

-- Moderation, ORM style: every destroyed comment decrements its post's counter cache, one
-- statement each (what `counter_cache: true` does), so each small delete drags a fat post
-- row into the binlog twice.
DELETE FROM comments WHERE id = 40;   UPDATE posts SET comments_count = comments_count - 1 WHERE id = 41;
DELETE FROM comments WHERE id = 80;   UPDATE posts SET comments_count = comments_count - 1 WHERE id = 81;
DELETE FROM comments WHERE id = 120;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 121;
DELETE FROM comments WHERE id = 160;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 161;
DELETE FROM comments WHERE id = 200;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 201;
DELETE FROM comments WHERE id = 240;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 241;
DELETE FROM comments WHERE id = 280;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 281;
DELETE FROM comments WHERE id = 320;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 321;
DELETE FROM comments WHERE id = 360;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 361;
DELETE FROM comments WHERE id = 400;  UPDATE posts SET comments_count = comments_count - 1 WHERE id = 1;

-- The same pattern at scale, through a trigger: a spam sweep deletes 1000 comments and the
-- trigger decrements the counter once per deleted comment (1000 fat post updates).
CREATE TRIGGER comments_counter_cache AFTER DELETE ON comments FOR EACH ROW
  UPDATE posts SET comments_count = comments_count - 1 WHERE id = OLD.post_id;
DELETE FROM comments WHERE id % 4 = 1;
DROP TRIGGER comments_counter_cache;

-- Editors touch a few posts (fat updates) and users update profiles (small updates).
UPDATE posts SET title = CONCAT(title, ' (edited)'), updated_at = updated_at + INTERVAL 1 DAY WHERE id % 20 = 0;
UPDATE users SET email = CONCAT('new-', email) WHERE id % 10 = 0;

-- Account deletions: a user's sessions, comments and posts go, and the authors' counters follow.
DELETE FROM sessions WHERE user_id BETWEEN 1 AND 50;
DELETE FROM comments WHERE post_id > 380;
DELETE FROM posts WHERE id > 380;
UPDATE users SET posts_count = posts_count - 1 WHERE id IN (SELECT 1 + seq % 500 FROM seq_381_to_400);
