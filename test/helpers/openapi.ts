/** Validates real responses against an OpenAPI 3.1 document served by the server itself (ajv, JSON Schema 2020-12). */
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface OpenApiChecker {
  /** Asserts that `body` matches the schema of `method path` -> `status` (application/json). */
  check(path: string, method: string, status: number, body: unknown): void;
  /** Every (path, method, status) checked so far. */
  readonly checked: Set<string>;
}

export function openApiChecker(doc: any, id = 'doc'): OpenApiChecker {
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema({ $id: id, components: doc.components });
  const checked = new Set<string>();
  return {
    checked,
    check(path, method, status, body) {
      const operation = doc.paths?.[path]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${path} is in the OpenAPI document`);
      const response = operation.responses?.[String(status)];
      assert.ok(response, `${method} ${path} documents a ${status} answer`);
      const schema = response.content?.['application/json']?.schema;
      if (schema === undefined) {
        assert.equal(body, undefined, `${method} ${path} ${status} is documented without a body`);
      } else {
        const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${id}#/components/`));
        const validate = ajv.compile(resolved);
        assert.ok(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
      }
      checked.add(`${method.toUpperCase()} ${path} ${status}`);
    },
  };
}
