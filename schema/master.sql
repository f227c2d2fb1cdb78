-- The master database (make-a-store.com, "divinity"): servers, the IP pool, and the DNS
-- records of the domains the company manages.

CREATE TABLE servers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  hostname VARCHAR(255) NOT NULL,
  private_ip VARCHAR(45) NOT NULL,
  kind ENUM('dispatcher','php','cloud') NOT NULL DEFAULT 'dispatcher',
  UNIQUE KEY servers_hostname (hostname)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE server_ips (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  server_id INT UNSIGNED NOT NULL,
  ip VARCHAR(45) NOT NULL,
  movable TINYINT(1) NOT NULL DEFAULT 0,     -- 1: routed to the VLAN, can move between d1 and d2
  install_id INT UNSIGNED NULL,              -- who holds it (NULL: free)
  install_site_id INT UNSIGNED NULL,
  UNIQUE KEY server_ips_ip (ip),
  KEY server_ips_free (server_id, movable, install_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE dns_records (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  domain VARCHAR(255) NOT NULL,              -- the zone: example.com
  name VARCHAR(255) NOT NULL,                -- the full name: shop.example.com
  type VARCHAR(10) NOT NULL,                 -- A, AAAA, CNAME, MX, TXT
  content VARCHAR(255) NOT NULL,
  ttl INT UNSIGNED NOT NULL DEFAULT 3600,
  KEY dns_records_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
