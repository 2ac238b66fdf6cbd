import { createHash } from 'node:crypto';
import { Lazy, TerraformResource } from 'cdktf';

/** Keys of a resource's JSON that are Terraform's own, not the API's: left out of the trigger. */
const META_KEYS = new Set(['//', 'depends_on', 'lifecycle', 'provider']);

/** `aws_type.name.attribute` (or `data.aws_type.name.attribute`) inside a `${...}` of the configuration. */
const REFERENCE = /\b(?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+\.[a-z0-9_]+\b/g;

/**
 * An API Gateway deployment's `redeployment` trigger: the sha1 of what `resources` are configured
 * with as synthesized (every attribute: templates, URIs, auth, schemas, selection expressions),
 * computed at synth, and the values of the references it contains (ids, ARNs, names), which
 * Terraform fills in. It hashes what is configured, never what the provider reads back (a
 * whole-resource or optional-attribute reference hashes `null` read back as `{}` or `""`, a schema as
 * the API returns it...: a new deployment on every plan after the first apply), so it changes
 * exactly when the API as configured does. Lazy: it sees every change made to the resources before synth.
 */
export function configuredInputsTrigger(resources: TerraformResource[]): string {
  return Lazy.stringValue({
    produce: (context) => {
      const configured = resources.map((resource) => {
        const [byId] = Object.values(context.resolve(resource.toTerraform()).resource as Record<string, Record<string, Record<string, unknown>>>);
        const attributes = Object.entries(Object.values(byId)[0]).filter(([key]) => !META_KEYS.has(key));
        return [resource.terraformResourceType, resource.friendlyUniqueId, Object.fromEntries(attributes)];
      });
      const text = JSON.stringify(configured);
      const references = [...new Set(text.match(REFERENCE) ?? [])].sort();
      const hash = createHash('sha1').update(text).digest('hex');
      return `\${sha1(jsonencode([${[JSON.stringify(hash), ...references].join(', ')}]))}`;
    },
  });
}
