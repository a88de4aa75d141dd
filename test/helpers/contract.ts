/** Validates responses against the repository's copy of the D1 contract (contract/d1-oauth2-api.openapi.json). */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const contract = JSON.parse(readFileSync(new URL('../../contract/d1-oauth2-api.openapi.json', import.meta.url), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
const tokenResponse = ajv.compile(contract.paths['/oauth2/token'].post.responses['200'].content['application/json'].schema);
const tokenRequest = ajv.compile(contract.components.schemas.auth2Request);

export function contractErrors(kind: 'tokenResponse' | 'tokenRequest', value: unknown): string[] {
  const validate = kind === 'tokenResponse' ? tokenResponse : tokenRequest;
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
