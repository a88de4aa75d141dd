// Types shared by the driver (bench/run.ts), the targets (bench/targets.ts) and the scenarios.

/** 'd1': the D1 JSON (expires_in "900" string, expires_at ISO); 'rfc6749': standard OAuth JSON. */
export type ResponseShape = 'd1' | 'rfc6749';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface TargetContext {
  /** Free port on 127.0.0.1 the server must listen on. */
  port: number;
  /** Private temporary directory for this target (deleted afterwards unless BENCH_KEEP=1). */
  workDir: string;
  /** A fresh 43-char base64url client secret. */
  secret: string;
  clientId: string;
}

/** One kind of token request in a mix; `expectScope` is checked against every 2xx body's `scope`. */
export interface TokenRequestKind {
  /** Form body (grant_type=client_credentials&...). */
  body: string;
  expectScope?: string;
}

/** How the load is shaped when it is not "the same request from one client". */
export interface TokenMix {
  /** One line for the report. */
  describe: string;
  /** Each connection sends these in turn, cycling (autocannon `requests`). Default: the single scope=a request. */
  sequence?: TokenRequestKind[];
  /** Spread requests round-robin (one counter shared by all connections) over these clients. */
  spread?: Credentials[];
  /**
   * With `spread`: before the warm-up, send exactly one request per client (each client's first:
   * its secret pays the slow hash) and report that pass as the variant 'cold'; the timed runs that
   * follow are the variant 'warm'.
   */
  coldPass?: boolean;
  /**
   * How long (s) the server keeps a verified secret in its credential cache. When the cold pass
   * plus the warm-up takes longer, the first clients' verifications have expired before the warm
   * runs and those runs are partly cold: the report says so.
   */
  credentialCacheTtlS?: number;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** GET path answering 200 once the server is ready. */
  readyPath: string;
  tokenPath: string;
  /** Resolve the JWKS URL (e.g. via discovery) once the server is up. */
  jwksUrl: (baseUrl: string) => Promise<string>;
  credentials: Credentials;
  shape: ResponseShape;
  /** Does the server reject a wrong client secret? (false only for the constant-answer ceiling) */
  authenticates: boolean;
  /** Free-form facts worth printing next to the results (log level, workers, ...). */
  notes: string[];
  /** Load shape (default: every request from `credentials` with scope=a). */
  mix?: TokenMix;
}

export interface Target {
  name: string;
  description: string;
  /** Reason to skip on this machine/checkout, or null when runnable. */
  unavailable?: () => Promise<string | null>;
  prepare: (ctx: TargetContext) => Promise<LaunchSpec>;
  /** Seconds per timed run (default BENCH_DURATION). */
  durationS?: number;
  /** Not part of the default run (only when named in BENCH_ONLY); the text says why. */
  optIn?: string;
}

/**
 * A row of the results table is `target` or `target (variant)` (e.g. `d1-authz-10k-clients (warm)`);
 * pairs name rows that way.
 */
export interface RatioPair {
  numerator: string;
  denominator: string;
  /** Issue 6's goals for this pair (shown in the table with met/MISSED), e.g. 'tokens/s ≥ 0.90x'. */
  goals?: RatioGoal[];
}

/** What a goal reads of the two rows it compares. */
export interface RatioSide {
  tokensPerSec: number;
  p99: number;
  errors: number;
}

export interface RatioGoal {
  text: string;
  /** Only at this connection count (e.g. p99 at 64); absent: every count. */
  connections?: number;
  met: (numerator: RatioSide, denominator: RatioSide) => boolean;
}

/** A benchmark that is not "drive one token endpoint": it runs itself and returns its own tables. */
export interface Scenario {
  name: string;
  description: string;
  /** Not part of the default run (only when named in BENCH_ONLY); the text says why. */
  optIn?: string;
  unavailable?: () => Promise<string | null>;
  run: () => Promise<ScenarioOutcome>;
}

export interface ScenarioSection {
  title: string;
  /** Markdown paragraphs before the table. */
  intro?: string;
  table: string;
}

export interface ScenarioOutcome {
  sections: ScenarioSection[];
  checks: string[];
  notes: string[];
}
