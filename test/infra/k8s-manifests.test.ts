/**
 * The Kubernetes manifests (infra/k8s/), checked offline: every file parses, each kustomization
 * lists exactly the files beside it, selectors match the labels of the pods they select, the API's
 * probes answer on a real API, every setting the pods get is one warmbox reads (and the
 * configuration they add up to loads), the grace period covers the stop's, and the worker has the
 * privilege and the host paths the launcher needs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../contract/paths.js';
import { loadConfig } from '../../server/config.js';
import { startApiHarness, type ApiHarness } from '../api/harness.js';

/** Manifests are untyped YAML, checked field by field. */
type Manifest = Record<string, any>;

const K8S = join(packageRoot(), 'infra', 'k8s');
const OVERLAYS = ['base', 'trial'];
/** Where a worker-only process answers (WARMBOX_METRICS_LISTEN; server/telemetry.ts serves GET /metrics only). */
const METRICS_PATH = '/metrics';

function docsOf(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors.map((e) => e.message), [], `${file} parses`);
  return docs.map((d) => d.toJS() as Manifest).filter((d) => d !== null);
}

/** The manifests a kustomization directory renders, its patches applied by name (a shallow merge of `stringData`/`data`, all these patches need). */
function render(dir: string): Manifest[] {
  const k = docsOf(join(dir, 'kustomization.yaml'))[0]!;
  const out: Manifest[] = [];
  for (const r of k.resources as string[]) out.push(...(r.endsWith('.yaml') ? docsOf(join(dir, r)) : render(join(dir, r))));
  for (const p of (k.patches ?? []) as { path: string }[]) {
    for (const patch of docsOf(join(dir, p.path))) {
      const target = out.find((m) => m.kind === patch.kind && m.metadata.name === patch.metadata.name);
      assert.ok(target, `${dir}/${p.path} patches ${patch.kind} ${patch.metadata.name}, which the resources have`);
      for (const key of ['data', 'stringData']) if (patch[key]) target[key] = { ...target[key], ...patch[key] };
    }
  }
  return out;
}

function one(ms: Manifest[], kind: string, name: string): Manifest {
  const found = ms.filter((m) => m.kind === kind && m.metadata?.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0]!;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The names a warmbox process reads from its environment: every WARMBOX_* literal in server/ and db/. */
function namesWarmboxReads(): Set<string> {
  const names = new Set<string>();
  for (const dir of ['server', 'db']) {
    for (const f of readdirSync(join(packageRoot(), dir)).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(join(packageRoot(), dir, f), 'utf8').matchAll(/\bWARMBOX_[A-Z0-9_]+\b/g)) names.add(m[0]);
    }
  }
  return names;
}

/** A container's environment as the pod gets it: envFrom's ConfigMaps and Secrets, then env. */
function containerEnv(ms: Manifest[], c: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const source = one(ms, from.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
    Object.assign(env, source.data, source.stringData);
  }
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
  return env;
}

describe('infra/k8s manifests', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: its kustomization lists every manifest beside it, and each has apiVersion, kind and a name`, () => {
      const dir = join(K8S, overlay);
      const k = docsOf(join(dir, 'kustomization.yaml'))[0]!;
      assert.equal(k.kind, 'Kustomization');
      const listed = [...(k.resources as string[]), ...((k.patches ?? []) as { path: string }[]).map((p) => p.path)].filter((r) => r.endsWith('.yaml'));
      const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
      assert.deepEqual([...listed].sort(), files.sort());
      for (const f of files) {
        for (const m of docsOf(join(dir, f))) {
          assert.ok(m.apiVersion && m.kind && m.metadata?.name, `${overlay}/${f}: ${JSON.stringify(m).slice(0, 80)}`);
        }
      }
    });

    it(`${overlay}: every workload's selector matches its pods' labels; the Service and the PodDisruptionBudget select the API's pods`, () => {
      const ms = render(join(K8S, overlay));
      for (const w of ms.filter((m) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(m.kind))) {
        assert.ok(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${w.kind} ${w.metadata.name}`);
      }
      for (const s of ms.filter((m) => m.kind === 'Service')) {
        const targets = ms.filter((m) => ['Deployment', 'StatefulSet'].includes(m.kind) && matches(s.spec.selector, m.spec.template.metadata.labels));
        assert.equal(targets.length, 1, `Service ${s.metadata.name} selects one workload`);
        const ports = targets[0]!.spec.template.spec.containers.flatMap((c: Manifest) => (c.ports ?? []).map((p: Manifest) => p.name));
        for (const p of s.spec.ports) assert.ok(ports.includes(p.targetPort), `Service ${s.metadata.name} targets port ${p.targetPort}`);
      }
      const api = one(ms, 'Deployment', 'warmbox-api');
      const pdb = one(ms, 'PodDisruptionBudget', 'warmbox-api');
      assert.ok(matches(pdb.spec.selector.matchLabels, api.spec.template.metadata.labels));
      assert.ok(pdb.spec.minAvailable < api.spec.replicas, 'a drain can still move one replica');
    });

    it(`${overlay}: every setting the warmbox pods get is one warmbox reads, they load as a configuration, and the grace period covers the stop's`, () => {
      const ms = render(join(K8S, overlay));
      const known = namesWarmboxReads();
      for (const [kind, name, role] of [['Deployment', 'warmbox-api', 'api'], ['DaemonSet', 'warmbox-worker', 'worker']] as const) {
        const spec = one(ms, kind, name).spec.template.spec;
        for (const c of spec.containers) {
          const env = containerEnv(ms, c);
          const unknown = Object.keys(env).filter((n) => !known.has(n));
          assert.deepEqual(unknown, [], `${name}: names warmbox does not read`);
          const config = loadConfig(env);
          assert.equal(config.role, role);
          assert.ok(config.redisUrl, `${name} has WARMBOX_REDIS_URL`);
          assert.ok(env.WARMBOX_DATABASE_URL, `${name} has WARMBOX_DATABASE_URL: several processes share Postgres`);
          assert.ok(spec.terminationGracePeriodSeconds * 1000 >= config.stopGraceMs + 5000, `${name}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} s covers WARMBOX_STOP_GRACE_MS ${config.stopGraceMs} with 5 s to spare`);
          assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${name} requests CPU and memory`);
          assert.ok(c.image === 'warmbox', `${name} runs the image the kustomization sets`);
        }
      }
    });
  }

  it('the worker runs privileged with the node cgroupfs and its data directory', () => {
    const ms = render(join(K8S, 'base'));
    const spec = one(ms, 'DaemonSet', 'warmbox-worker').spec.template.spec;
    const c = spec.containers[0];
    assert.equal(c.securityContext?.privileged, true);
    const env = containerEnv(ms, c);
    const hostPathAt = (mountPath: string) => {
      const mount = c.volumeMounts.find((m: Manifest) => m.mountPath === mountPath);
      assert.ok(mount, `a volume at ${mountPath}`);
      return spec.volumes.find((v: Manifest) => v.name === mount.name)?.hostPath?.path;
    };
    assert.equal(hostPathAt('/sys/fs/cgroup'), '/sys/fs/cgroup');
    assert.ok(hostPathAt(env.WARMBOX_DATA!), `WARMBOX_DATA (${env.WARMBOX_DATA}) is a host directory: the node's snapshot store`);
    const port = Number(loadConfig(env).metricsListen?.port);
    assert.equal(c.ports.find((p: Manifest) => p.name === c.livenessProbe.httpGet.port)?.containerPort, port, 'liveness on WARMBOX_METRICS_LISTEN');
    assert.equal(c.livenessProbe.httpGet.path, METRICS_PATH);
  });

  it('names images without a registry host (the kustomization sets where they come from)', () => {
    for (const overlay of OVERLAYS) {
      for (const m of render(join(K8S, overlay)).filter((x) => x.spec?.template)) {
        for (const c of m.spec.template.spec.containers) assert.doesNotMatch(c.image, /^[^/]+\.[^/]+\//, `${m.metadata.name}: ${c.image}`);
      }
    }
  });

  describe("the API's probes", () => {
    let h: ApiHarness;
    before(async () => {
      h = await startApiHarness();
    });
    after(() => h.close());

    it('answer 200 on a real API at the paths and port the Deployment names', async () => {
      const c = one(render(join(K8S, 'base')), 'Deployment', 'warmbox-api').spec.template.spec.containers[0];
      const port = loadConfig(containerEnv(render(join(K8S, 'base')), c)).listen.port;
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        assert.equal(c.ports.find((p: Manifest) => p.name === probe.httpGet.port)?.containerPort, port, 'the probe port is WARMBOX_LISTEN');
        const res = await h.app.request(probe.httpGet.path);
        assert.equal(res.status, 200, `${probe.httpGet.path}: ${await res.text()}`);
      }
      assert.deepEqual([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path], ['/readyz', '/healthz']);
    });
  });
});
