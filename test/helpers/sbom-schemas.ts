import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import formats from 'ajv-formats';

// ajv-formats is CommonJS: its plugin is the module's `default` under NodeNext typing.
const addFormats = formats.default;

const schemaFile = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/sbom-schemas/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

export type Validate = (document: unknown) => string[];

function validator(ajv: Ajv | Ajv2019, schema: Record<string, unknown>): Validate {
  const validate = ajv.compile(schema);
  return (document) =>
    validate(document)
      ? []
      : (validate.errors ?? []).map(
          (error: ErrorObject) => `${error.instancePath || '/'} ${error.message ?? ''}`,
        );
}

/** The official SPDX 2.3 JSON schema (JSON Schema 2019-09); see the fixtures' README. */
export function spdxValidator(): Validate {
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  addFormats(ajv);
  return validator(ajv, schemaFile('spdx-schema.json'));
}

/**
 * The official CycloneDX 1.5 JSON schema (draft-07) with the schemas it references. Its
 * `iri-reference` and `idn-email` formats are not in ajv-formats; Berth's BOMs use neither field.
 */
export function cyclonedxValidator(): Validate {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('iri-reference', true);
  ajv.addFormat('idn-email', true);
  // The BOM schema names them by file; their own `$id`s carry the upstream names.
  for (const name of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
    ajv.addSchema({ ...schemaFile(name), $id: `http://cyclonedx.org/schema/${name}` });
  }
  return validator(ajv, schemaFile('bom-1.5.SNAPSHOT.schema.json'));
}
