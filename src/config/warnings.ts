/** Settings that start but deserve a loud word at every start (the operator may not know what they let in). */
import { parseCidr } from '../tls/addresses.js';
import { WIDE_PROXY_PREFIX, type Config } from './schema.js';

export interface SettingWarning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

type WarnedConfig = Pick<Config, 'trustedProxies' | 'unknownSettings'>;

export function settingWarnings(config: WarnedConfig): SettingWarning[] {
  const warnings: SettingWarning[] = [];
  for (const unknown of config.unknownSettings ?? []) {
    warnings.push({
      fields: { setting: 'D1AUTHZ_ALLOW_UNKNOWN_SETTINGS', unknown },
      message: `unknown setting ignored: ${unknown}`,
    });
  }
  const wide = config.trustedProxies.filter((t) => {
    const cidr = parseCidr(t);
    return cidr !== undefined && cidr.prefix < WIDE_PROXY_PREFIX[cidr.family];
  });
  if (wide.length) {
    warnings.push({
      fields: { setting: 'D1AUTHZ_TRUSTED_PROXIES', ranges: wide },
      message:
        `TRUSTED PROXIES: every peer in ${wide.join(', ')} (wider than a /${WIDE_PROXY_PREFIX.ipv4} or an IPv6 /${WIDE_PROXY_PREFIX.ipv6}) ` +
        'may send a client-certificate header that is believed as the client certificate. List only the proxies themselves.',
    });
  }
  return warnings;
}

export function logSettingWarnings(config: WarnedConfig, logger: { warn(obj: object, msg: string): void }): number {
  const warnings = settingWarnings(config);
  for (const w of warnings) logger.warn(w.fields, w.message);
  return warnings.length;
}
