/**
 * The PKCS#11 binding, loaded on first use: its native addon is needed only by nodes that use an HSM,
 * so `import('d1-authz')` and local-key nodes work where it was never built (npm --ignore-scripts).
 */
import { createRequire } from 'node:module';
import type Pkcs11Binding from 'pkcs11js';

type Binding = typeof Pkcs11Binding;
let loaded: Binding | undefined;
const load = (): Binding => (loaded ??= createRequire(import.meta.url)('pkcs11js') as Binding);

const pkcs11js = new Proxy({} as Binding, { get: (_target, name) => load()[name as keyof Binding] });
export default pkcs11js;
