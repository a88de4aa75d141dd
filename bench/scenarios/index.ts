// Scenarios that are not "drive one token endpoint": each starts what it needs, measures, and
// returns its own tables (bench/run.ts renders them after the token results).

import type { Scenario } from '../lib/types.js';
import { gatewayScenario } from './gateway.js';
import { guardScenario } from './guard-verify.js';
import { tlsBoundScenario, tlsKeepAliveScenario, tlsNewConnectionScenario } from './tls.js';
import { wellKnownScenario } from './well-known.js';

export const SCENARIOS: Scenario[] = [wellKnownScenario, guardScenario, gatewayScenario, tlsKeepAliveScenario, tlsNewConnectionScenario, tlsBoundScenario];
