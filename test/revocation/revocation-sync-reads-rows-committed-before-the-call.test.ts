/**
 * Regression: RevocationService.sync() was single-flight, so a caller arriving while a pull was in flight
 * got that pull, which may have read before the caller's row committed (the change feed then dropped a
 * re-enabled client believing its new cut-off was known). Callers arriving meanwhile now share one more
 * pull after the one in flight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevocationList } from '../../src/domain/revocations/revocation-list.js';
import { RevocationService } from '../../src/domain/revocations/revocation-service.js';
import type { TokenVerifier } from '../../src/domain/tokens/token-verifier.js';
import type { Revocation } from '../../src/model/revocation.js';
import type { RevocationRepository } from '../../src/store/revocation-repository.js';

describe('revocation sync', () => {
  it('reads a row committed while an earlier pull was in flight', async () => {
    const rows: Revocation[] = [];
    let releaseFirst!: () => void;
    let pulls = 0;
    const repo = {
      async since(seq: number) {
        pulls++;
        const snapshot = rows.filter((r) => r.seq > seq);
        // The first pull has read (nothing yet) and is slow to come back.
        if (pulls === 1) await new Promise<void>((resolve) => (releaseFirst = resolve));
        return snapshot;
      },
    } as unknown as RevocationRepository;
    const list = new RevocationList();
    const service = new RevocationService(repo, list, {} as TokenVerifier, { clockSkew: 60, resyncIntervalMs: 60_000, pruneIntervalMs: 60_000 }, () => {});

    const first = service.sync();
    const now = Date.now();
    rows.push({ seq: 1, kind: 'client', jti: null, kid: null, clientId: 'flip', issuedBefore: null, expiresAt: now + 60_000, createdAt: now });
    const second = service.sync();
    const third = service.sync();
    releaseFirst();
    await Promise.all([first, second, third]);

    assert.equal(pulls, 2, 'the callers that came during the first pull shared one more');
    assert.equal(list.match({ jti: 'x', client_id: 'flip', iat: Math.floor(now / 1000) }), 'client', 'the row committed after the first read is known');
  });
});
