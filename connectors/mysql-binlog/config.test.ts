import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../schemas/config.js';
import { loadCdcOptions } from './config.js';

describe('loadCdcOptions', () => {
  it('defaults: TIMESTAMP in the server zone, DDL in the data topics, no DDL topic', () => {
    expect(loadCdcOptions('shop', {})).toMatchObject({ timeZone: '', filterDdl: false, ddlTopic: '' });
  });

  it('reads CDC_TIMEZONE, CDC_FILTER_DDL and CDC_DDL_TOPIC', () => {
    expect(loadCdcOptions('shop', { CDC_TIMEZONE: '+08:00', CDC_FILTER_DDL: 'true', CDC_DDL_TOPIC: 'ods_ddl' })).toMatchObject({ timeZone: '+08:00', filterDdl: true, ddlTopic: 'ods_ddl' });
    expect(loadCdcOptions('shop', { CDC_TIMEZONE: 'Asia/Shanghai', CDC_DDL_TOPIC: '' })).toMatchObject({ timeZone: 'Asia/Shanghai', ddlTopic: '' });
  });

  it('refuses a zone it cannot print in, and a bad DDL topic, naming the variable', () => {
    for (const env of [{ CDC_TIMEZONE: 'SYSTEM' }, { CDC_TIMEZONE: 'Mars/Olympus' }, { CDC_TIMEZONE: '+25:00' }, { CDC_DDL_TOPIC: 'a b' }, { CDC_FILTER_DDL: 'yes' }]) {
      const error = (() => {
        try {
          loadCdcOptions('shop', env);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toContain(Object.keys(env)[0]);
    }
  });
});
