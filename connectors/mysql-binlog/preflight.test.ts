import { describe, expect, it } from 'vitest';
import { globalPrivileges, missingPrivileges } from './preflight.js';

describe('privilege check', () => {
  it('accepts the least-privilege CDC user on MariaDB and MySQL', () => {
    const mariadb = globalPrivileges(["GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `rtdw_cdc`@`%` IDENTIFIED BY PASSWORD '*X'"]);
    expect(missingPrivileges('mariadb', mariadb)).toEqual([]);
    const mysql = globalPrivileges(['GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `rtdw_cdc`@`%`']);
    expect(missingPrivileges('mysql', mysql)).toEqual([]);
  });

  it('names each missing privilege; database-level grants do not count', () => {
    const p = globalPrivileges(['GRANT USAGE ON *.* TO `u`@`%`', 'GRANT SELECT ON `shop`.* TO `u`@`%`']);
    expect(missingPrivileges('mariadb', p)).toEqual(['SELECT', 'REPLICATION SLAVE', 'BINLOG MONITOR']);
    expect(missingPrivileges('mysql', p)).toEqual(['SELECT', 'REPLICATION SLAVE', 'REPLICATION CLIENT']);
  });

  it('treats ALL PRIVILEGES as enough', () => {
    expect(missingPrivileges('mysql', globalPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION']))).toEqual([]);
  });
});
