-- mysql_source.sql - a MariaDB schema with the object kinds tideline copies besides plain
-- tables (docs/schema.md): views (on views, with options), triggers (several on one
-- event), procedures and functions (with their own sql_mode), events, foreign keys (a
-- self-reference, a cycle, one to another database), generated columns, fulltext and
-- spatial indexes, prefix / descending / ignored indexes, check constraints, partitions,
-- comments, a table whose AUTO_INCREMENT column is not its primary key, one without a
-- primary key, a MyISAM table. tests/integration/test_schema_mysql.c loads it into the
-- source (with the world and DBT-3 databases) and compares SHOW CREATE on both sides.
DROP DATABASE IF EXISTS tl_my1;
DROP DATABASE IF EXISTS tl_my2;
CREATE DATABASE tl_my1 CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci COMMENT 'tideline schema test';
CREATE DATABASE tl_my2 CHARACTER SET latin1;
CREATE TABLE tl_my2.currency (code char(3) NOT NULL PRIMARY KEY, name varchar(40)) ENGINE=InnoDB;
CREATE TABLE tl_my1.country (
  id int unsigned NOT NULL AUTO_INCREMENT,
  code char(3) NOT NULL,
  name varchar(60) NOT NULL COMMENT 'the country''s name',
  currency char(3) CHARACTER SET latin1 DEFAULT NULL,
  capital_id int DEFAULT NULL,
  name_upper varchar(60) GENERATED ALWAYS AS (upper(name)) VIRTUAL,
  name_len int GENERATED ALWAYS AS (char_length(name)) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY code (code),
  KEY name_upper (name_upper),
  KEY name_len (name_len DESC),
  KEY name_prefix (name(10)) COMMENT 'first letters',
  CONSTRAINT country_currency FOREIGN KEY (currency) REFERENCES tl_my2.currency (code),
  CONSTRAINT name_chk CHECK (name <> '')
) ENGINE=InnoDB COMMENT='countries';
CREATE TABLE tl_my1.city (
  id int NOT NULL AUTO_INCREMENT,
  country_id int unsigned NOT NULL,
  name varchar(80) NOT NULL,
  population bigint DEFAULT 0 CHECK (population >= 0),
  parent_id int DEFAULT NULL,
  loc point NOT NULL,
  about text,
  PRIMARY KEY (id),
  UNIQUE KEY country_name (country_id, name),
  KEY pop (population) IGNORED,
  KEY parent_id (parent_id),
  FULLTEXT KEY about_ft (about),
  SPATIAL KEY loc_sp (loc),
  CONSTRAINT city_country FOREIGN KEY (country_id) REFERENCES country (id) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT city_parent FOREIGN KEY (parent_id) REFERENCES city (id) ON DELETE SET NULL
) ENGINE=InnoDB AUTO_INCREMENT=100;
ALTER TABLE tl_my1.country ADD CONSTRAINT country_capital FOREIGN KEY (capital_id) REFERENCES tl_my1.city (id);
CREATE TABLE tl_my1.measure (
  city_id int NOT NULL,
  at date NOT NULL,
  value decimal(10,2) DEFAULT NULL,
  PRIMARY KEY (city_id, at),
  KEY value (value)
) ENGINE=InnoDB
PARTITION BY RANGE (year(at)) (
  PARTITION p2023 VALUES LESS THAN (2024),
  PARTITION p2024 VALUES LESS THAN (2025),
  PARTITION pmax VALUES LESS THAN MAXVALUE
);
CREATE TABLE tl_my1.ticket (
  seq int NOT NULL AUTO_INCREMENT,
  owner varchar(20) NOT NULL,
  PRIMARY KEY (owner, seq),
  KEY seq (seq)
) ENGINE=InnoDB;
CREATE TABLE tl_my1.keyless (
  a int NOT NULL,
  b int NOT NULL,
  c varchar(10),
  UNIQUE KEY ab (a, b),
  KEY c (c)
) ENGINE=InnoDB;
CREATE TABLE tl_my1.audit (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  what varchar(100),
  at timestamp NOT NULL DEFAULT current_timestamp()
) ENGINE=MyISAM;
CREATE TABLE `tl_my1`.`odd ``name`` t` (`x.y` int NOT NULL PRIMARY KEY, `sp ace` varchar(5), KEY `k ey` (`sp ace`));

CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW tl_my1.big_city AS
  SELECT c.id, c.name, c.population, k.name AS country FROM tl_my1.city c JOIN tl_my1.country k ON k.id = c.country_id
  WHERE c.population > 1000 WITH CASCADED CHECK OPTION;
CREATE VIEW tl_my1.big_city_names AS SELECT name FROM tl_my1.big_city;
CREATE VIEW tl_my1.currencies AS SELECT code FROM tl_my2.currency;

DELIMITER //
CREATE TRIGGER tl_my1.city_ai AFTER INSERT ON tl_my1.city FOR EACH ROW
BEGIN
  INSERT INTO tl_my1.audit (what) VALUES (CONCAT('city ', NEW.name));
END//
CREATE TRIGGER tl_my1.city_ai2 AFTER INSERT ON tl_my1.city FOR EACH ROW
  INSERT INTO tl_my1.audit (what) VALUES ('second')//
CREATE TRIGGER tl_my1.country_bu BEFORE UPDATE ON tl_my1.country FOR EACH ROW
  SET NEW.name = TRIM(NEW.name)//
CREATE PROCEDURE tl_my1.grow(IN n int)
  MODIFIES SQL DATA
  COMMENT 'adds people'
BEGIN
  UPDATE tl_my1.city SET population = population + n;
END//
CREATE FUNCTION tl_my1.twice(i int) RETURNS int DETERMINISTIC RETURN i * 2//
DELIMITER ;
SET SESSION sql_mode = 'PIPES_AS_CONCAT';
CREATE FUNCTION tl_my1.joined() RETURNS varchar(10) DETERMINISTIC RETURN 'a' || 'b';
SET SESSION sql_mode = DEFAULT;
CREATE EVENT tl_my1.cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
  ON COMPLETION PRESERVE DISABLE COMMENT 'nightly' DO DELETE FROM tl_my1.audit WHERE at < now() - INTERVAL 30 DAY;

INSERT INTO tl_my2.currency VALUES ('EUR', 'euro'), ('USD', 'dollar');
INSERT INTO tl_my1.country (code, name, currency) VALUES ('NLD', 'Netherlands', 'EUR'), ('USA', 'United States', 'USD');
INSERT INTO tl_my1.city (country_id, name, population, loc, about) VALUES
  (1, 'Amsterdam', 731200, POINT(4.9, 52.37), 'canals and bikes'),
  (1, 'Rotterdam', 593321, POINT(4.47, 51.92), 'a port'),
  (2, 'New York', 8000000, POINT(-74, 40.7), 'a big apple');
UPDATE tl_my1.country SET capital_id = 100 WHERE code = 'NLD';
INSERT INTO tl_my1.measure VALUES (100, '2023-05-01', 1.5), (101, '2024-05-01', 2.5), (100, '2030-01-01', 4);
INSERT INTO tl_my1.ticket (owner) VALUES ('a'), ('a'), ('b');
INSERT INTO tl_my1.keyless VALUES (1, 1, 'x'), (1, 2, NULL);
INSERT INTO `tl_my1`.`odd ``name`` t` VALUES (1, 'x');
DELETE FROM tl_my1.city WHERE name = 'Rotterdam';
INSERT INTO tl_my1.city (country_id, name, population, loc) VALUES (2, 'Boston', 650000, POINT(-71, 42.3));
DELETE FROM tl_my1.city WHERE name = 'Boston';
