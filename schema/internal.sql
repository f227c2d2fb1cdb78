-- The internal database (cloud-db1: "internal"): installs, their sites and IPs, shared
-- codebases, the queue, handlers and startup mounts. Column names follow the operations
-- guide. Loaded by scripts/demo and the tests; kept in step with the runbooks.

CREATE TABLE handlers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  hostname VARCHAR(255) NOT NULL,            -- dispatch1.make-a-store.com
  private_ip VARCHAR(45) NOT NULL,           -- the 10.x address php-fpm allows
  public_ip VARCHAR(45) NULL,
  kind ENUM('dispatcher','php','cloud') NOT NULL DEFAULT 'dispatcher',
  weight INT UNSIGNED NOT NULL DEFAULT 1,    -- share of an install's traffic (cloud handlers)
  carp_interface VARCHAR(16) NULL,           -- carp1 / carp2 on dispatchers
  UNIQUE KEY handlers_hostname (hostname)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shared_code_groups (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dir VARCHAR(255) NOT NULL,                 -- /home/shared_codes/code_share_paid_1
  free TINYINT(1) NOT NULL DEFAULT 0,        -- 1: for free installs
  revision VARCHAR(64) NOT NULL,             -- the Subversion revision it is checked out at
  `limit` INT UNSIGNED NOT NULL DEFAULT 50,  -- most installs it may serve (1: a customer's own)
  handler_id INT UNSIGNED NOT NULL,          -- the master handler of the group
  repository VARCHAR(255) NOT NULL DEFAULT '',
  UNIQUE KEY shared_code_groups_dir (dir)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE installs (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(255) NOT NULL,
  db_name VARCHAR(64) NOT NULL,
  db_user VARCHAR(80) NOT NULL,
  fs_name VARCHAR(64) NOT NULL,              -- the folder name under the homes directory
  home_dir VARCHAR(255) NOT NULL,            -- /usr/home/<fs_name>
  shared_code_group_id INT UNSIGNED NOT NULL,
  master_handler_id INT UNSIGNED NOT NULL,
  free TINYINT(1) NOT NULL DEFAULT 1,
  license VARCHAR(32) NOT NULL DEFAULT 'free',
  dynamic_ips TINYINT(1) NOT NULL DEFAULT 0, -- 1: movable IPs (paid installs)
  custom_rewrites TEXT NULL,                 -- PHP-serialized array of rewrite rules
  ftp_user VARCHAR(80) NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY installs_fs_name (fs_name),
  UNIQUE KEY installs_db_name (db_name),
  KEY installs_group (shared_code_group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE install_sites (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  install_id INT UNSIGNED NOT NULL,
  hostname VARCHAR(255) NOT NULL,            -- shop.example.com
  secure_hostname VARCHAR(255) NULL,         -- secure.shop.example.com (or the same)
  rel_url VARCHAR(255) NOT NULL DEFAULT '/',
  secure_rel_url VARCHAR(255) NOT NULL DEFAULT '/',
  ssl_pem VARCHAR(255) NULL,                 -- absolute path of the certificate
  ssl_key VARCHAR(255) NULL,                 -- absolute path of the key
  UNIQUE KEY install_sites_hostname (hostname),
  KEY install_sites_install (install_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE install_site_ips (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  install_site_id INT UNSIGNED NOT NULL,
  ip VARCHAR(45) NOT NULL,
  handler_id INT UNSIGNED NOT NULL,          -- the dispatcher that serves it
  UNIQUE KEY install_site_ips_ip (ip),
  KEY install_site_ips_site (install_site_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE install_handlers (                -- extra (cloud) PHP handlers of an install
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  install_id INT UNSIGNED NOT NULL,
  handler_id INT UNSIGNED NOT NULL,
  weight INT UNSIGNED NOT NULL DEFAULT 1,
  UNIQUE KEY install_handlers_pair (install_id, handler_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE startup_mounts (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  install_id INT UNSIGNED NOT NULL,
  source VARCHAR(255) NOT NULL,
  target VARCHAR(255) NOT NULL,
  UNIQUE KEY startup_mounts_target (target)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE queue (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  runbook VARCHAR(64) NOT NULL,              -- the runbook that does the work (install, add-codebase)
  args TEXT NOT NULL,                        -- its arguments as JSON (secrets never stored)
  handler_id INT UNSIGNED NULL,              -- the server that must run it
  status ENUM('queued','running','done','failed') NOT NULL DEFAULT 'queued',
  error TEXT NULL,                           -- the failing file, statement and MySQL error
  log VARCHAR(255) NULL,                     -- run id / log path of the run that worked it
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  KEY queue_status (status, handler_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
