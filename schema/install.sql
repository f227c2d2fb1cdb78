-- Each install's own database: its sites, vars, the SQL updates applied to it (the guide's
-- "mut" records each one here) and its cache table.

CREATE TABLE sites (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  hostname VARCHAR(255) NOT NULL,            -- http://wholesale.teacollection.com
  secure_hostname VARCHAR(255) NOT NULL,     -- https://wholesale.teacollection.com
  rel_url VARCHAR(255) NOT NULL DEFAULT '/',
  secure_rel_url VARCHAR(255) NOT NULL DEFAULT '/'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE vars (
  name VARCHAR(128) NOT NULL PRIMARY KEY,
  value TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE database_updates (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  filename VARCHAR(255) NOT NULL,
  plugin_id VARCHAR(64) NOT NULL DEFAULT '',
  revision VARCHAR(64) NULL,
  applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY database_updates_file (plugin_id, filename)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE cache (
  name VARCHAR(191) NOT NULL PRIMARY KEY,
  value MEDIUMTEXT NULL,
  expires DATETIME NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
