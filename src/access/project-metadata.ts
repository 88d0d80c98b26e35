/**
 * The project metadata keys Harbor knows (swagger `ProjectMetadata`) and the values each accepts.
 * Anything else is refused, so metadata cannot carry arbitrary data or unexpected switches.
 */

const booleanValue = (value: string) => value === 'true' || value === 'false';
const integerValue = (value: string) => /^-?\d{1,18}$/.test(value);

/** Harbor's severity levels, the threshold of `prevent_vul`. */
export const severities = ['none', 'low', 'medium', 'high', 'critical'] as const;

const rules: Record<string, { accepts: (value: string) => boolean; expected: string }> = {
  public: { accepts: booleanValue, expected: "'true' or 'false'" },
  enable_content_trust: { accepts: booleanValue, expected: "'true' or 'false'" },
  enable_content_trust_cosign: { accepts: booleanValue, expected: "'true' or 'false'" },
  prevent_vul: { accepts: booleanValue, expected: "'true' or 'false'" },
  severity: {
    accepts: (value) => (severities as readonly string[]).includes(value),
    expected: severities.map((level) => `'${level}'`).join(', '),
  },
  auto_scan: { accepts: booleanValue, expected: "'true' or 'false'" },
  auto_sbom_generation: { accepts: booleanValue, expected: "'true' or 'false'" },
  reuse_sys_cve_allowlist: { accepts: booleanValue, expected: "'true' or 'false'" },
  retention_id: { accepts: (value) => /^\d{1,18}$/.test(value), expected: 'a policy id' },
  proxy_speed_kb: { accepts: integerValue, expected: 'an integer (Kbps, -1 for no limit)' },
};

export const projectMetadataKeys: readonly string[] = Object.keys(rules);

/** Why these metadata entries cannot be stored, or undefined when every key and value is valid. */
export function projectMetadataProblem(entries: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(entries)) {
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (!rule) return `unknown project metadata: '${key}'`;
    if (typeof value !== 'string' || !rule.accepts(value)) {
      return `metadata.${key} should only be ${rule.expected}, but got: '${String(value)}'`;
    }
  }
  return undefined;
}

/** Visibility decides who may read and pull, so changing it needs more than metadata rights. */
export function changesVisibility(keys: readonly string[]): boolean {
  return keys.includes('public');
}
