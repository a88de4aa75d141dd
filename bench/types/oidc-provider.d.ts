// Minimal ambient types for oidc-provider v9 (it ships none), covering only what
// bench/baselines/oidc-provider.ts uses. Benchmark-only devDependency.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  export type Configuration = Record<string, unknown>;

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    listen(port: number, host: string, callback?: () => void): Server;
    on(event: string, listener: (...args: unknown[]) => void): this;
    proxy: boolean;
  }

  export const errors: {
    InvalidTarget: new (description?: string, detail?: string) => Error;
  };
}
