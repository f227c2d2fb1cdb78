-- The demo world's starting data (loaded by scripts/demo-world after internal.sql and
-- master.sql): the two dispatchers and a cloud handler, the IP pool, three shared code
-- groups and the DNS records of one managed domain. Table names are qualified, so this
-- one file seeds both databases: `internal` (cloud-db1) and `divinity` (the master).
--
-- Every public address is from the documentation ranges (RFC 5737: 192.0.2.0/24,
-- 198.51.100.0/24, 203.0.113.0/24); private ones are the guide's 10.0.x VLAN. Nothing
-- here is routed anywhere: the demo never sends traffic to these addresses.

-- The internal database: handlers (the guide's "Adding new dispatcher ... add a record for
-- it in the handlers table"; cloud_manager --action=add --ip=10.0.4.1
-- --hostname=tmp-cloud.make-a-store.com) ...
INSERT INTO internal.handlers (id, hostname, private_ip, public_ip, kind, weight, carp_interface) VALUES
  (1, 'dispatch1.make-a-store.com', '10.0.0.1', '192.0.2.1', 'dispatcher', 1, 'carp1'),
  (2, 'dispatch2.make-a-store.com', '10.0.0.2', '198.51.100.1', 'dispatcher', 1, 'carp2'),
  (3, 'tmp-cloud.make-a-store.com', '10.0.4.1', NULL, 'cloud', 1, NULL);

-- ... and the shared codebases, checked out by scripts/demo-world from the world's
-- Subversion repository at revision 1 (the repository column is filled in by the script,
-- which knows where the repository is). Group 3 is a customer's own codebase (limit 1,
-- the guide's "Sign up a customer to their own codebase"): see [settings.pins] in the
-- world's config.toml.
INSERT INTO internal.shared_code_groups (id, dir, free, revision, `limit`, handler_id, repository) VALUES
  (1, '/home/shared_codes/code_share_free_1', 1, '1', 50, 1, ''),
  (2, '/home/shared_codes/code_share_paid_1', 0, '1', 50, 1, ''),
  (3, '/home/shared_codes/code_share_paid_2', 0, '1', 1, 1, '');

-- The master database: servers. d1 is server 6, as in the guide's example from the master
-- plugin ("this will give u server_id 6 which is d1").
INSERT INTO divinity.servers (id, hostname, private_ip, kind) VALUES
  (6, 'dispatch1.make-a-store.com', '10.0.0.1', 'dispatcher'),
  (7, 'dispatch2.make-a-store.com', '10.0.0.2', 'dispatcher'),
  (8, 'tmp-cloud.make-a-store.com', '10.0.4.1', 'cloud');

-- The IP pool, all free. Movable IPs are routed to the VLAN and can float between d1 and
-- d2 (they are the ones listed in mas_ip_manager.cfg); fixed ones stay on their server.
-- 203.0.113.1 and .2 play the guide's "we get 211.212.213.1 and 211.212.213.2 ... .1 to be
-- on d1 and .2 on d2".
INSERT INTO divinity.server_ips (server_id, ip, movable) VALUES
  (6, '192.0.2.10', 1), (6, '192.0.2.11', 1), (6, '192.0.2.12', 1),
  (6, '192.0.2.13', 1), (6, '192.0.2.14', 1), (6, '192.0.2.15', 1),
  (6, '203.0.113.1', 1),
  (6, '192.0.2.100', 0), (6, '192.0.2.101', 0),
  (7, '198.51.100.10', 1), (7, '198.51.100.11', 1), (7, '198.51.100.12', 1),
  (7, '198.51.100.13', 1), (7, '198.51.100.14', 1), (7, '198.51.100.15', 1),
  (7, '203.0.113.2', 1),
  (7, '198.51.100.100', 0), (7, '198.51.100.101', 0);

-- A domain whose DNS the company manages ("if we manage their dns settings, go and change
-- all the dns records related to the last hostname"): example.com. Its store is not
-- installed yet: installing shop.example.com adds that name's A records here.
INSERT INTO divinity.dns_records (domain, name, type, content, ttl) VALUES
  ('example.com', 'example.com', 'NS', 'ns1.make-a-store.com', 86400),
  ('example.com', 'example.com', 'NS', 'ns2.make-a-store.com', 86400),
  ('example.com', 'example.com', 'A', '203.0.113.80', 3600),
  ('example.com', 'www.example.com', 'CNAME', 'example.com', 3600),
  ('example.com', 'example.com', 'MX', 'mail.example.com', 3600),
  ('example.com', 'mail.example.com', 'A', '203.0.113.25', 3600);
