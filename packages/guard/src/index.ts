/**
 * d1-authz/guard: verification of d1-authz RFC 9068 access tokens for resource servers, with
 * Fastify, Express/Connect and plain node:http adapters.
 */
export { createGuard, DEFAULT_ALGORITHMS } from './guard.js';
export type { AccessTokenClaims, Guard, GuardOptions, GuardStats, VerifiedToken, VerifyOptions } from './guard.js';
export { GuardError, quoteHeaderValue } from './errors.js';
export { D1AuthzError, isD1AuthzError } from './error-family.js';
export type { D1AuthzErrorInit, ErrorCode } from './error-family.js';
export { GUARD_ERROR_CODES } from './error-codes.js';
export type { ErrorCodeEntry, GuardErrorCodeName } from './error-codes.js';
export { basicChallenge, bearerChallenge, errorBody } from './error-body.js';
export type { BearerChallenge } from './error-body.js';
export type { GuardErrorBody, GuardErrorCode, GuardErrorInit, GuardErrorStatus } from './errors.js';
export { parseAuthorization } from './header.js';
export type { ParsedAuthorization } from './header.js';
export { certificateThumbprint, peerCertificateThumbprint } from './thumbprint.js';
export { expressGuard } from './express.js';
export type { AuthenticatedRequest, ConnectMiddleware, ConnectNext, GuardAdapterOptions } from './express.js';
export { withGuard } from './node.js';
export type { GuardedHandler, WithGuardOptions } from './node.js';
export { d1AuthPlugin, requireAuth } from './fastify.js';
export type { D1AuthPluginOptions, D1AuthPreHandler } from './fastify.js';
export { sendGuardError } from './respond.js';
export { createIntrospectionCheck, IntrospectionError } from './introspection.js';
export { AmbiguousKeyError, JwksUnavailableError, NoMatchingKeyError } from './jwks.js';
export type { IntrospectionCheck, IntrospectionCheckOptions, IntrospectionStats } from './introspection.js';
export { createRevocationFeed, RevocationFeedError } from './revocation-feed.js';
export type { RevocationFeed, RevocationFeedOptions, RevocationFeedStats } from './revocation-feed.js';
export type { ResourceServerCredentials } from './client-credentials.js';
export type { GuardTlsOptions } from './transport.js';
