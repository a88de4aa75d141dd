/**
 * The Fastify routes refuse a repeated Authorization, Content-Type, Content-Length or Host (and a
 * missing Host) as the token listener does (transport/singleton-headers.ts), before the body is read.
 */
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../protocol/oauth-error.js';
import { singletonFieldProblem } from '../transport/singleton-headers.js';

export function installSingletonFieldCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const problem = singletonFieldProblem(request.raw);
    if (problem === undefined) return done();
    // Framing is in doubt: nothing after this request on the connection is read.
    reply.header('connection', 'close');
    done(invalidRequest(problem));
  });
}
