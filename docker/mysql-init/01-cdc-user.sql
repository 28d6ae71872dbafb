-- Least-privilege binlog reader for `rtdw cdc` (same name and password as the defaults in schemas/config.ts).
CREATE USER IF NOT EXISTS 'rtdw_cdc'@'%' IDENTIFIED BY 'rtdw_cdc';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'rtdw_cdc'@'%';
