import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAntomKeyPair } from '../../src/adapters/antom/keys.js';
import { wireHttp, type HttpListeners } from '../../src/composition/http.js';
import { parseDuration } from '../../src/config/duration.js';
import { loadConfig } from '../../src/config/load.js';
import { SETTINGS, type SettingName } from '../../src/config/settings.js';
import type { RefundStore } from '../../src/app/ports.js';
import { createMemoryStore } from '../support/fakes.js';
import { standingHttpParts } from '../support/http-parts.js';

/**
 * deploy/kubernetes/ (docs/operations.md, "Kubernetes"), read as kustomize and the kubelet would
 * read it, checked against the service itself: its settings, the routes its two listeners really
 * serve, its drain timeout. kubectl is not needed; where it is installed, the base is also built.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const BASE = join(ROOT, 'deploy', 'kubernetes');
const SQLITE = join(BASE, 'sqlite');
const CONFIG = join(ROOT, 'config');

interface Generator { name: string; behavior?: string; envs?: string[]; files?: string[]; literals?: string[] }
interface Kustomization { kind: string; resources?: string[]; components?: string[]; patches?: Array<{ path?: string; patch?: string }>; configMapGenerator?: Generator[] }
interface Probe { httpGet: { path: string; port: string | number }; timeoutSeconds?: number }
interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: Probe;
  readinessProbe: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume { name: string; secret?: { secretName: string }; configMap?: { name: string }; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }
interface Deployment {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { terminationGracePeriodSeconds: number; securityContext: { runAsNonRoot?: boolean; runAsUser?: number }; containers: Container[]; volumes: Volume[] };
    };
  };
}
interface Service { metadata: { name: string; annotations?: Record<string, string> }; spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> } }

type Doc = { kind?: string; metadata?: { name?: string } } & Record<string, unknown>;
function parseDocs(text: string, where: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    expect(d.errors, where).toEqual([]);
    return d.toJS() as Doc;
  });
}
const docs = (path: string) => parseDocs(readFileSync(path, 'utf8'), path);
const kustomization = (dir: string) => parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
const manifest = <T>(kind: string, name?: string): T => {
  const found = kustomization(BASE).resources!.filter((r) => r.endsWith('.yaml')).flatMap((r) => docs(join(BASE, r))).filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as T;
};

/** KEY=value lines of a kustomize env file (comments and blank lines skipped). */
function envFile(path: string): Record<string, string> {
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
const literals = (g: Generator | undefined) => Object.fromEntries((g?.literals ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

/** Names a user may set: every setting, plus `<NAME>_FILE` for the ones read from files. */
const knownNames = new Set<string>(
  (Object.keys(SETTINGS) as SettingName[]).flatMap((name) => ((SETTINGS[name] as { fileVariant?: boolean }).fileVariant ? [name, `${name}_FILE`] : [name])),
);

const deployment = manifest<Deployment>('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0]!;
const envGenerator = kustomization(BASE).configMapGenerator!.find((g) => g.name === container.envFrom?.[0]?.configMapRef?.name)!;
const baseEnv = envFile(join(BASE, envGenerator.envs![0]!));
const sqliteKustomization = kustomization(SQLITE);
const sqliteEnv = { ...baseEnv, ...literals(sqliteKustomization.configMapGenerator!.find((g) => g.name === envGenerator.name)) };
const portOf = (name: string | number) => (typeof name === 'number' ? name : container.ports.find((p) => p.name === name)?.containerPort);

describe('deploy/kubernetes', () => {
  it('each kustomization.yaml lists every manifest in its folder, and every file it names exists', () => {
    for (const dir of [BASE, SQLITE, CONFIG]) {
      const k = kustomization(dir);
      const listed = [
        ...(k.resources ?? []),
        ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
        ...(k.configMapGenerator ?? []).flatMap((g) => [...(g.envs ?? []), ...(g.files ?? []).map((f) => f.slice(f.indexOf('=') + 1))]),
      ];
      for (const entry of [...listed, ...(k.components ?? [])]) {
        const path = resolve(dir, entry);
        expect(existsSync(path), `${relative(ROOT, dir)}: ${entry}`).toBe(true);
        if (statSync(path).isDirectory()) expect(existsSync(join(path, 'kustomization.yaml')), `${entry} is a kustomization`).toBe(true);
      }
      const manifests = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
      expect(manifests.filter((f) => !listed.includes(f)), `${relative(ROOT, dir)}: not in its kustomization.yaml`).toEqual([]);
    }
    expect(sqliteKustomization.kind).toBe('Component');
  });

  it('names only settings of the service in its environment', () => {
    const names = [...Object.keys(sqliteEnv), ...(container.env ?? []).map((e) => e.name)];
    expect(names.filter((n) => !knownNames.has(n))).toEqual([]);
    expect(container.env ?? []).toEqual([]); // all of it in the ConfigMap, where an overlay can merge
  });

  it('is a configuration the service accepts, once the overlay names Kafka and Antom and the Secret holds the files', () => {
    const secrets = mkdtempSync(join(tmpdir(), 'rn-k8s-secrets-'));
    const antom = generateAntomKeyPair();
    const files: Record<string, string> = {
      DATABASE_URL_FILE: 'postgres://refunds:pw@postgres:5432/refunds',
      ANTOM_PRIVATE_KEY_FILE: generateAntomKeyPair().privateKey,
      ANTOM_PUBLIC_KEY_FILE: antom.publicKey,
      ADMIN_TOKEN_FILE: 'a-long-random-token',
    };
    const asMounted = (env: Record<string, string>) => ({
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => (k.endsWith('_FILE') && v !== '' ? [k, join(secrets, basename(v))] : [k, v]))),
      CONFIG_DIR: CONFIG,
      ANTOM_CLIENT_ID: 'SANDBOX_K8S',
      ANTOM_BASE_URL: 'https://merchant-host.example',
    });
    expect(Object.keys(baseEnv).filter((k) => k.endsWith('_FILE')).sort()).toEqual(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) writeFileSync(join(secrets, basename(baseEnv[name]!)), `${content}\n`);

    const onPostgres = loadConfig({ env: asMounted(baseEnv), cwd: '/app', requireAntomCredentials: true });
    expect(onPostgres.database).toEqual({ kind: 'postgres', url: files.DATABASE_URL_FILE });
    expect([onPostgres.values.HTTP_PORT, onPostgres.values.ADMIN_PORT]).toEqual([portOf('notify'), portOf('admin')]);
    const onSqlite = loadConfig({ env: asMounted(sqliteEnv), cwd: '/app', requireAntomCredentials: true });
    expect(onSqlite.database.kind).toBe('sqlite');
  });

  it('mounts every *_FILE from the Secret volume, and CONFIG_DIR from the ConfigMap made of config/', () => {
    const volumeAt = (path: string) => {
      const mount = container.volumeMounts.find((m) => m.mountPath === path);
      return pod.volumes.find((v) => v.name === mount?.name);
    };
    for (const [name, value] of Object.entries(baseEnv).filter(([k]) => k.endsWith('_FILE'))) {
      expect(volumeAt(dirname(value))?.secret, `${name}=${value} on a Secret volume`).toBeDefined();
    }
    const configMap = kustomization(CONFIG).configMapGenerator![0]!;
    expect(volumeAt(baseEnv.CONFIG_DIR!)?.configMap?.name).toBe(configMap.name);
    // config/default.yaml must be in it: without it the service refuses to start.
    expect(configMap.files).toContain('default.yaml');
  });

  it('gives more time to stop than the service takes to drain', () => {
    const defaults = parse(readFileSync(join(CONFIG, 'default.yaml'), 'utf8')) as Record<string, string>;
    const drainMs = parseDuration(baseEnv.SHUTDOWN_TIMEOUT ?? defaults.SHUTDOWN_TIMEOUT!)!;
    const command = container.lifecycle?.preStop?.exec?.command ?? [];
    const preStopMs = command[0] === 'sleep' ? Number(command[1]) * 1000 : 0;
    // deployment.yaml's comment names the default (25 s): a new default should be seen there too.
    expect(drainMs).toBe(25_000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + drainMs);
  });

  it('Services and the PodDisruptionBudget select the pods; each Service port sends to a container port', () => {
    const labels = deployment.spec.template.metadata.labels;
    const notify = manifest<Service>('Service', 'refund-notifier-notify');
    const admin = manifest<Service>('Service', 'refund-notifier-admin');
    for (const s of [notify, admin, manifest<Service>('PodDisruptionBudget')]) {
      const selector = s.spec.selector as Record<string, unknown>;
      expect(labels).toMatchObject((selector.matchLabels as Record<string, string>) ?? selector);
    }
    for (const s of [notify, admin]) {
      for (const p of s.spec.ports) expect(portOf(p.targetPort), `${s.metadata.name} → ${p.targetPort}`).toBeDefined();
    }
    expect(notify.spec.ports.map((p) => portOf(p.targetPort))).toEqual([Number(baseEnv.HTTP_PORT)]);
    expect(admin.spec.ports.map((p) => portOf(p.targetPort))).toEqual([Number(baseEnv.ADMIN_PORT)]);
    expect(admin.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': baseEnv.ADMIN_PORT, 'prometheus.io/path': '/metrics' });
    expect(notify.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
  });

  it('more than one replica only on PostgreSQL; the SQLite component makes one, on a claim, replaced and not rolled', () => {
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    expect(baseEnv.DATABASE_URL).toBeUndefined(); // so the Secret's database-url (PostgreSQL) is the store
    expect(baseEnv.DATABASE_URL_FILE).toMatch(/^\//);

    const patch = docs(join(SQLITE, sqliteKustomization.patches!.find((p) => p.path)!.path!))[0] as unknown as Deployment;
    expect(patch.spec.replicas).toBe(1);
    expect(patch.spec.strategy.type).toBe('Recreate');
    const dbPath = sqliteEnv.DATABASE_URL!.replace(/^sqlite:/, '');
    const mount = patch.spec.template.spec.containers[0]!.volumeMounts.find((m) => dbPath.startsWith(`${m.mountPath}/`));
    const claim = patch.spec.template.spec.volumes.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName;
    expect(docs(join(SQLITE, 'persistent-volume-claim.yaml')).map((d) => d.metadata?.name)).toContain(claim);
    expect(sqliteKustomization.patches!.some((p) => /\$patch: delete[\s\S]*kind: PodDisruptionBudget/.test(p.patch ?? ''))).toBe(true);
  });

  it('runs as a non-root user on a read-only root filesystem, within its limits, with the package version', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const quantity = (q: string) => {
      const m = /^(\d+(?:\.\d+)?)(m|Mi|Gi)?$/.exec(q)!;
      return Number(m[1]) * ({ m: 0.001, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] as 'm'] ?? 1);
    };
    for (const r of ['cpu', 'memory']) {
      expect(quantity(container.resources.requests[r]!), r).toBeLessThanOrEqual(quantity(container.resources.limits[r]!));
    }
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(container.image).toBe(`refund-notifier:${version}`);
  });

  describe('probes and Services reach routes the service really serves', () => {
    let store: RefundStore;
    let http: HttpListeners;
    const urls = new Map<number, string>();
    let notifyPath = '';

    beforeAll(async () => {
      // The configuration the Deployment gives, on free ports, with Antom credentials for the listener.
      const config = loadConfig({
        env: { CONFIG_DIR: CONFIG, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', ADMIN_PORT: '0', ANTOM_CLIENT_ID: 'SANDBOX_K8S', ANTOM_BASE_URL: 'http://127.0.0.1:9', ANTOM_PRIVATE_KEY: generateAntomKeyPair().privateKey, ANTOM_PUBLIC_KEY: generateAntomKeyPair().publicKey },
      });
      notifyPath = config.values.ANTOM_NOTIFY_PATH;
      store = await createMemoryStore();
      http = wireHttp(config, standingHttpParts(config, store));
      const { httpUrl, adminUrl } = await http.start();
      urls.set(Number(baseEnv.HTTP_PORT), httpUrl).set(Number(baseEnv.ADMIN_PORT), adminUrl);
    });
    afterAll(async () => {
      await http?.close();
      await store?.close();
    });

    it('liveness, readiness and startup probes: on the admin port, paths that answer 200', async () => {
      for (const [name, probe] of Object.entries({ liveness: container.livenessProbe, readiness: container.readinessProbe, startup: container.startupProbe })) {
        if (!probe) continue;
        const port = portOf(probe.httpGet.port);
        expect(port, `${name} probe port`).toBe(Number(baseEnv.ADMIN_PORT));
        expect((await fetch(`${urls.get(port!)}${probe.httpGet.path}`)).status, `${name} ${probe.httpGet.path}`).toBe(200);
      }
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      // /readyz's store probe gives up after 3 s (src/composition/http.ts): the kubelet must wait longer.
      expect(container.readinessProbe.timeoutSeconds).toBeGreaterThan(3);
    });

    it("the notify Service reaches Antom's notify route and no admin route; the admin Service serves the scraped metrics", async () => {
      const notifyUrl = urls.get(portOf(manifest<Service>('Service', 'refund-notifier-notify').spec.ports[0]!.targetPort)!)!;
      expect((await fetch(`${notifyUrl}${notifyPath}`, { method: 'POST', body: '{}' })).status).toBe(401); // there, unsigned
      expect((await fetch(`${notifyUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${notifyUrl}/admin/summary`)).status).toBe(404);
      const admin = manifest<Service>('Service', 'refund-notifier-admin');
      const adminUrl = urls.get(portOf(admin.spec.ports[0]!.targetPort)!)!;
      expect((await fetch(`${adminUrl}/readyz`)).status).toBe(200);
      const scraped = await fetch(`${urls.get(Number(admin.metadata.annotations!['prometheus.io/port']))}${admin.metadata.annotations!['prometheus.io/path']}`);
      expect(await scraped.text()).toMatch(/^refund_notifier_refunds\{status="pending"\} 0$/m);
    });
  });

  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!kubectl)('kubectl kustomize builds the base, and the base with the SQLite component', () => {
    const build = (dir: string) => parseDocs(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }), `kubectl kustomize ${dir}`);
    const kinds = (list: Doc[]) => list.map((d) => d.kind).sort();
    expect(kinds(build(BASE))).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'Service']);
    // An overlay as an operator writes one (kustomize wants relative paths).
    const overlay = mkdtempSync(join(tmpdir(), 'rn-k8s-overlay-'));
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${relative(overlay, BASE)}]\ncomponents: [${relative(overlay, SQLITE)}]\n`);
    const withSqlite = build(overlay);
    expect(kinds(withSqlite)).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service', 'Service']);
    const built = withSqlite.find((d) => d.kind === 'Deployment') as unknown as Deployment;
    expect(built.spec.replicas).toBe(1);
    // Generated names carry a content hash; the Deployment refers to them by it.
    const configMaps = withSqlite.filter((d) => d.kind === 'ConfigMap').map((d) => d.metadata!.name);
    expect(configMaps).toContain(built.spec.template.spec.containers[0]!.envFrom![0]!.configMapRef!.name);
    expect(configMaps).toContain(built.spec.template.spec.volumes.find((v) => v.configMap)!.configMap!.name);
  });
});
