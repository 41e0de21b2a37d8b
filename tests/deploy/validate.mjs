// validate.mjs - checks rendered Kubernetes manifests without a cluster, and
// lints the Containerfile.
//
//   node validate.mjs [--policy config/policy.yaml] [--expect-shards] RENDERED.yaml...
//   node validate.mjs --containerfile Containerfile
//   node validate.mjs --self-test RENDERED.yaml   (the checks must catch known mistakes)
//
// Every object is validated against the Kubernetes schemas of the npm
// package kubernetes-models. Those accept any key they do not know, so the
// object is also walked along the models' type declarations and every key
// that the schema does not have is an error (a misspelt `readinesProbe`
// would otherwise pass and silently leave a pod without its probe). Then our
// own rules (see RULES below). Exit status 0 when everything holds, 1 with
// one line per finding otherwise.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";

const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve("kubernetes-models/package.json"));
const apimachineryRoot = dirname(require.resolve("@kubernetes-models/apimachinery/package.json"));

// --- schemas: kubernetes-models' validators and type declarations ----------

// apiVersion "apps/v1" -> directory "apps/v1"; core "v1" -> "v1".
function modelPath(apiVersion, kind) {
  return join(modelsRoot, apiVersion, `${kind}.js`);
}

async function schemaValidate(obj) {
  let mod;
  try {
    mod = await import(modelPath(obj.apiVersion, obj.kind));
  } catch {
    return [`unknown kind ${obj.apiVersion}/${obj.kind}`];
  }
  const Model = mod[obj.kind];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [`schema: ${String(e.message).split("\n").slice(0, 6).join("; ")}`];
  }
}

// A parsed .d.ts: the main interface's properties (name -> type text) and
// the imported names (name -> file).
const declCache = new Map();

function resolveImport(fromFile, spec) {
  if (spec.startsWith(".")) return resolve(dirname(fromFile), spec.replace(/\.js$/, "") + ".d.ts");
  if (spec.startsWith("@kubernetes-models/apimachinery/"))
    return join(apimachineryRoot, spec.slice("@kubernetes-models/apimachinery/".length) + ".d.ts");
  return null; // @kubernetes-models/base and the like: not object schemas
}

function loadDecl(file) {
  if (declCache.has(file)) return declCache.get(file);
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    const target = resolveImport(file, m[2]);
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean))
      if (target) imports.set(name.split(/\s+as\s+/).pop(), target);
  }
  const start = text.search(/export interface I\w+[^{]*\{/);
  const props = new Map();
  if (start >= 0) {
    let i = text.indexOf("{", start) + 1;
    let depth = 1;
    let body = "";
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "{") depth++;
      if (text[i] === "}") depth--;
      if (depth > 0) body += text[i];
    }
    // "name"?: type;   where type may hold braces and span lines
    let j = 0;
    while (j < body.length) {
      const m = /"([^"]+)"\??:\s*/y;
      m.lastIndex = j;
      const hit = m.exec(body);
      if (!hit) {
        j++;
        continue;
      }
      let k = m.lastIndex;
      let d = 0;
      let type = "";
      for (; k < body.length; k++) {
        const c = body[k];
        if (c === "{" || c === "<") d++;
        if (c === "}" || c === ">") d--;
        if (c === ";" && d === 0) break;
        type += c;
      }
      props.set(hit[1], type.replace(/\s+/g, " ").trim());
      j = k + 1;
    }
  }
  const decl = { file, props, imports };
  declCache.set(file, decl);
  return decl;
}

// What a type text says about the value: an object of an interface, an
// array or map of something, or a leaf (primitive, IntOrString, Quantity...).
function typeShape(decl, type) {
  let m = /^Array<(.+)>$/.exec(type) || /^(.+)\[\]$/.exec(type);
  if (m) return { array: typeShape(decl, m[1].trim()) };
  m = /^\{ \[key: string\]: (.+?);? \}$/.exec(type);
  if (m) return { map: typeShape(decl, m[1].trim()) };
  if (decl.imports.has(type)) return { object: decl.imports.get(type) };
  return { leaf: type };
}

function unknownKeys(value, file, path, out) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  const decl = loadDecl(file);
  if (decl.props.size === 0) return; // a free-form object
  for (const [key, v] of Object.entries(value)) {
    if (!decl.props.has(key)) {
      out.push(`${path}.${key}: unknown key (not in the Kubernetes schema)`);
      continue;
    }
    walk(v, typeShape(decl, decl.props.get(key)), `${path}.${key}`, out);
  }
}

function walk(value, shape, path, out) {
  if (value === null || value === undefined) return;
  if (shape.object) unknownKeys(value, shape.object, path, out);
  else if (shape.array && Array.isArray(value)) value.forEach((v, i) => walk(v, shape.array, `${path}[${i}]`, out));
  else if (shape.map && typeof value === "object")
    for (const [k, v] of Object.entries(value)) walk(v, shape.map, `${path}.${k}`, out);
}

function strictKeys(obj) {
  const out = [];
  const file = join(modelsRoot, obj.apiVersion ?? "", `${obj.kind}.d.ts`);
  try {
    unknownKeys(obj, file, "", out);
  } catch (e) {
    out.push(`cannot read the schema of ${obj.apiVersion}/${obj.kind}: ${e.message}`);
  }
  return out;
}

// --- our rules ----------------------------------------------------------------

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);
const podSpec = (o) => o.spec?.template?.spec;
const podLabels = (o) => o.spec?.template?.metadata?.labels ?? {};
const matches = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
  (selector?.matchExpressions ?? []).every((e) =>
    e.operator === "Exists" ? e.key in labels : e.operator === "DoesNotExist" ? !(e.key in labels) :
    e.operator === "In" ? e.values.includes(labels[e.key]) : !e.values.includes(labels[e.key]));
const id = (o) => `${o.kind}/${o.metadata?.name}`;

const RULES = {
  // Every container: the three probes, requests and limits for cpu and
  // memory, and the restricted security context; liveness not on /readyz.
  containers(objects, say) {
    for (const o of objects.filter((x) => workloadKinds.has(x.kind))) {
      const spec = podSpec(o) ?? {};
      const podSc = spec.securityContext ?? {};
      if (spec.automountServiceAccountToken !== false)
        say(`${id(o)}: automountServiceAccountToken must be false (no service needs the API)`);
      const all = [...(spec.initContainers ?? []).map((c) => [c, true]), ...(spec.containers ?? []).map((c) => [c, false])];
      for (const [c, init] of all) {
        const where = `${id(o)} container ${c.name}`;
        if (!init)
          for (const p of ["startupProbe", "readinessProbe", "livenessProbe"])
            if (!c[p]) say(`${where}: no ${p}`);
        if (c.livenessProbe?.httpGet?.path === "/readyz")
          say(`${where}: liveness must not depend on Redis or peers (/healthz, not /readyz)`);
        for (const k of ["requests", "limits"])
          for (const r of ["cpu", "memory"])
            if (!c.resources?.[k]?.[r]) say(`${where}: no resources.${k}.${r}`);
        const sc = c.securityContext ?? {};
        if (sc.allowPrivilegeEscalation !== false) say(`${where}: allowPrivilegeEscalation must be false`);
        if (sc.readOnlyRootFilesystem !== true) say(`${where}: readOnlyRootFilesystem must be true`);
        if (sc.privileged === true) say(`${where}: privileged`);
        if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) say(`${where}: runAsNonRoot must be true`);
        if ((sc.runAsUser ?? podSc.runAsUser) === 0) say(`${where}: runs as root`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) say(`${where}: capabilities must drop ALL`);
      }
    }
  },

  // Every Secret is used, and every Secret or ConfigMap used exists.
  references(objects, say) {
    const secrets = new Set(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name));
    const configMaps = new Set(objects.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name));
    const used = { Secret: new Set(), ConfigMap: new Set() };
    for (const o of objects.filter((x) => workloadKinds.has(x.kind))) {
      const spec = podSpec(o) ?? {};
      const use = (kind, name) => {
        used[kind].add(name);
        if (!(kind === "Secret" ? secrets : configMaps).has(name)) say(`${id(o)}: ${kind} ${name} does not exist`);
      };
      for (const v of spec.volumes ?? []) {
        if (v.secret) use("Secret", v.secret.secretName);
        if (v.configMap) use("ConfigMap", v.configMap.name);
        for (const s of v.projected?.sources ?? []) {
          if (s.secret) use("Secret", s.secret.name);
          if (s.configMap) use("ConfigMap", s.configMap.name);
        }
      }
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) use("Secret", e.valueFrom.secretKeyRef.name);
          if (e.valueFrom?.configMapKeyRef) use("ConfigMap", e.valueFrom.configMapKeyRef.name);
        }
        for (const e of c.envFrom ?? []) {
          if (e.secretRef) use("Secret", e.secretRef.name);
          if (e.configMapRef) use("ConfigMap", e.configMapRef.name);
        }
      }
      for (const s of spec.imagePullSecrets ?? []) use("Secret", s.name);
    }
    for (const s of secrets) if (!used.Secret.has(s)) say(`Secret/${s}: referenced by no workload`);
  },

  // Every port a NetworkPolicy or a Service names is a port of the pods it
  // selects (peers outside our manifests, e.g. kube-dns, are not checked).
  ports(objects, say) {
    const pods = objects.filter((o) => workloadKinds.has(o.kind)).map((o) => ({
      name: id(o),
      labels: podLabels(o),
      ports: (podSpec(o)?.containers ?? []).flatMap((c) => c.ports ?? []),
    }));
    const has = (selected, port, protocol = "TCP") =>
      selected.some((p) => p.ports.some((cp) =>
        (cp.protocol ?? "TCP") === protocol && (cp.containerPort === port || cp.name === port)));
    for (const np of objects.filter((o) => o.kind === "NetworkPolicy")) {
      const own = pods.filter((p) => matches(np.spec.podSelector, p.labels));
      if (own.length === 0 && Object.keys(np.spec.podSelector?.matchLabels ?? {}).length > 0)
        say(`${id(np)}: selects no pod`);
      for (const [i, rule] of (np.spec.ingress ?? []).entries())
        for (const p of rule.ports ?? [])
          if (!has(own, p.port, p.protocol)) say(`${id(np)} ingress[${i}]: port ${p.port} is not a port of the pods it selects`);
      for (const [i, rule] of (np.spec.egress ?? []).entries()) {
        const peers = (rule.to ?? []).filter((t) => t.podSelector && !t.namespaceSelector && !t.ipBlock);
        if (peers.length === 0) continue;
        const targets = pods.filter((p) => peers.some((t) => matches(t.podSelector, p.labels)));
        if (targets.length === 0) say(`${id(np)} egress[${i}]: its peers select no pod`);
        for (const p of rule.ports ?? [])
          if (!has(targets, p.port, p.protocol)) say(`${id(np)} egress[${i}]: port ${p.port} is not a port of its peers`);
      }
    }
    for (const svc of objects.filter((o) => o.kind === "Service")) {
      const selected = pods.filter((p) => matches({ matchLabels: svc.spec.selector }, p.labels));
      if (selected.length === 0) say(`${id(svc)}: selects no pod`);
      for (const p of svc.spec.ports ?? [])
        if (!has(selected, p.targetPort ?? p.port, p.protocol)) say(`${id(svc)}: targetPort ${p.targetPort ?? p.port} is not a port of its pods`);
    }
  },

  // A PodDisruptionBudget covers the services.
  disruption(objects, say) {
    const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget");
    if (pdbs.length === 0) say("no PodDisruptionBudget");
    for (const pdb of pdbs)
      if (!objects.some((o) => workloadKinds.has(o.kind) && matches(pdb.spec.selector, podLabels(o))))
        say(`${id(pdb)}: selects no pod`);
  },

  // Matching: every region of the policy is owned by exactly one replica set.
  shards(objects, say, options) {
    if (!options.policy) return;
    const regions = (parseYaml(readFileSync(options.policy, "utf8")).regions ?? []).map((r) => r.id);
    const owners = new Map(regions.map((r) => [r, []]));
    const matching = objects.filter((o) => workloadKinds.has(o.kind) && podLabels(o)["app.kubernetes.io/name"] === "matching");
    if (matching.length === 0) say("no matching Deployment");
    for (const o of matching) {
      const env = podSpec(o).containers[0].env ?? [];
      const list = env.find((e) => e.name === "WZ_MATCHING_REGIONS")?.value ?? "";
      const owned = list ? list.split(",").map((s) => s.trim()).filter(Boolean) : regions;
      for (const r of owned) {
        if (!owners.has(r)) say(`${id(o)}: owns region ${r}, which config/policy.yaml does not have`);
        else owners.get(r).push(id(o));
      }
      if (options.expectShards && !list) say(`${id(o)}: production matching must name its regions (WZ_MATCHING_REGIONS)`);
    }
    for (const [r, list] of owners)
      if (list.length !== 1) say(`region ${r} is owned by ${list.length} matching replicas (${list.join(", ") || "none"}): exactly one`);
    // Consumers must follow every matching Service.
    const matchingServices = objects.filter((o) => o.kind === "Service" && o.spec.selector?.["app.kubernetes.io/name"] === "matching");
    for (const o of objects.filter((x) => workloadKinds.has(x.kind))) {
      const v = podSpec(o).containers[0].env?.find((e) => e.name === "WZ_MATCHING_PUBLISH")?.value;
      if (!v || v.includes("*")) continue;
      for (const s of matchingServices)
        if (!v.split(",").some((e) => e.startsWith(`tcp://${s.metadata.name}:`)))
          say(`${id(o)}: WZ_MATCHING_PUBLISH does not follow Service ${s.metadata.name}`);
    }
  },

  // internal_curve: on in production; where it is on, every service has its
  // own key pair in its Secret and the public key bundle names all four.
  internalCurve(objects, say, options) {
    const services = ["intake", "matching", "notification", "audit"];
    const secrets = new Map(objects.filter((o) => o.kind === "Secret").map((o) => [o.metadata.name, o]));
    const bundleSecret = [...secrets.values()].find((o) => o.metadata.name.startsWith("wz-public-keys"));
    const bundle = bundleSecret?.data?.["public-keys"]
      ? Buffer.from(bundleSecret.data["public-keys"], "base64").toString("utf8") : "";
    const listed = new Set(bundle.split("\n").map((l) => l.split(/\s+/)[0]));
    for (const o of objects.filter((x) => workloadKinds.has(x.kind))) {
      const name = podLabels(o)["app.kubernetes.io/name"];
      if (!services.includes(name)) continue;
      const env = podSpec(o).containers[0].env ?? [];
      const on = env.find((e) => e.name === "WZ_INTERNAL_CURVE")?.value === "true";
      if (options.expectInternalCurve && !on)
        say(`${id(o)}: production runs the events over CURVE (WZ_INTERNAL_CURVE=true)`);
      if (!on) continue;
      const own = (podSpec(o).volumes ?? []).map((v) => v.secret?.secretName)
        .filter((n) => n && !n.startsWith("wz-public-keys")).map((n) => secrets.get(n)).filter(Boolean);
      if (!own.some((s) => s.data?.[`${name}.key`]))
        say(`${id(o)}: WZ_INTERNAL_CURVE needs ${name}.key in the pod's own Secret`);
      for (const s of services)
        if (!listed.has(s)) say(`${id(o)}: WZ_INTERNAL_CURVE needs ${s}'s public key in wz-public-keys`);
    }
  },
};

async function validateObjects(objects, options) {
  const findings = [];
  for (const o of objects) {
    for (const f of await schemaValidate(o)) findings.push(`${id(o)}: ${f}`);
    for (const f of strictKeys(o)) findings.push(`${id(o)}: ${f}`);
  }
  for (const [name, rule] of Object.entries(RULES)) rule(objects, (msg) => findings.push(`[${name}] ${msg}`), options);
  return findings;
}

function readObjects(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
  const objects = docs.map((d) => d.toJS()).filter(Boolean);
  // kustomize wraps long base64 values over lines; the API server's decoder
  // (Go's encoding/base64) skips line breaks, the schema's "byte" format not.
  for (const o of objects)
    if (o.kind === "Secret")
      for (const k of Object.keys(o.data ?? {})) o.data[k] = String(o.data[k]).replace(/\s+/g, "");
  return objects;
}

// --- Containerfile -----------------------------------------------------------

async function lintContainerfile(file) {
  const { validate } = await import("dockerfile-utils");
  const text = readFileSync(file, "utf8");
  const findings = validate(text).map((d) => `${file}:${d.range.start.line + 1}: ${d.message}`);
  const lines = text.split("\n");
  const from = lines.filter((l) => /^FROM\s/i.test(l));
  if (from.length < 2) findings.push(`${file}: not multi-stage (one FROM)`);
  for (const l of from)
    if (!/^FROM\s+(docker\.io\/library\/)?debian:12-slim(@sha256:[0-9a-f]{64})?(\s+AS\s+\w+)?\s*$/i.test(l))
      findings.push(`${file}: '${l}': every stage is debian:12-slim`);
  const users = lines.filter((l) => /^USER\s/i.test(l));
  const last = users.at(-1);
  if (!last || !/^USER\s+[1-9]\d*(:[1-9]\d*)?\s*$/i.test(last))
    findings.push(`${file}: the image must end as a numeric non-root USER (runAsNonRoot needs a number)`);
  for (const [i, l] of lines.entries()) {
    if (/apt-get install/.test(l) && !/--no-install-recommends/.test(l))
      findings.push(`${file}:${i + 1}: apt-get install without --no-install-recommends`);
    if (/^ADD\s/i.test(l)) findings.push(`${file}:${i + 1}: ADD (use COPY)`);
    if (/:latest\b/.test(l)) findings.push(`${file}:${i + 1}: :latest`);
  }
  return findings;
}

// --- self-test: the checks must catch the mistakes they exist for --------------

function mutate(objects, fn) {
  const copy = structuredClone(objects);
  fn(copy);
  return copy;
}

async function selfTest(objects, options) {
  const deployment = (objs) => objs.find((o) => o.kind === "Deployment");
  const cases = [
    ["misspelt readinessProbe", (o) => {
      const c = podSpec(deployment(o)).containers[0];
      c.readinesProbe = c.readinessProbe;
      delete c.readinessProbe;
    }, /containers\[0\]\.readinesProbe: unknown key[\s\S]*no readinessProbe/],
    ["unknown key deep in a probe", (o) => { podSpec(deployment(o)).containers[0].livenessProbe.httpGet.paht = "/x"; },
      /livenessProbe\.httpGet\.paht: unknown key/],
    ["wrong type", (o) => { deployment(o).spec.replicas = "two"; }, /schema:/],
    ["liveness on /readyz", (o) => { podSpec(deployment(o)).containers[0].livenessProbe.httpGet.path = "/readyz"; }, /liveness must not depend/],
    ["no memory limit", (o) => { delete podSpec(deployment(o)).containers[0].resources.limits.memory; }, /no resources\.limits\.memory/],
    ["writable root", (o) => { podSpec(deployment(o)).containers[0].securityContext.readOnlyRootFilesystem = false; }, /readOnlyRootFilesystem/],
    ["unused Secret", (o) => { o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "forgotten" }, data: {} }); }, /Secret\/forgotten: referenced by no workload/],
    ["missing Secret", (o) => { o.splice(o.findIndex((x) => x.kind === "Secret"), 1); }, /Secret .* does not exist/],
    ["NetworkPolicy port nobody has", (o) => {
      const np = o.find((x) => x.kind === "NetworkPolicy" && (x.spec.ingress ?? []).some((r) => r.ports));
      np.spec.ingress.find((r) => r.ports).ports[0].port = 9999;
    }, /port 9999 is not a port/],
    ["Service port nobody has", (o) => { o.find((x) => x.kind === "Service").spec.ports[0].targetPort = "nope"; }, /targetPort nope/],
    ...(options.expectInternalCurve ? [
      ["events without CURVE", (o) => {
        const c = podSpec(o.find((x) => x.kind === "Deployment" && podLabels(x)["app.kubernetes.io/name"] === "intake")).containers[0];
        c.env = c.env.filter((e) => e.name !== "WZ_INTERNAL_CURVE");
      }, /WZ_INTERNAL_CURVE=true/],
      ["matching without its key pair", (o) => { delete o.find((x) => x.kind === "Secret" && x.metadata.name.startsWith("wz-matching")).data["matching.key"]; },
        /needs matching\.key/],
    ] : []),
    ["region owned twice", (o) => { o.push(structuredClone(o.find((x) => x.kind === "Deployment" && podLabels(x)["app.kubernetes.io/name"] === "matching"))); }, /owned by 2 matching/],
  ];
  const failures = [];
  if ((await validateObjects(objects, options)).length) failures.push("the unmodified manifests do not pass");
  for (const [name, fn, expected] of cases) {
    const found = (await validateObjects(mutate(objects, fn), options)).join("\n");
    if (!expected.test(found)) failures.push(`not caught: ${name} (findings: ${found.slice(0, 400) || "none"})`);
  }
  return failures;
}

// --- main -----------------------------------------------------------------------

const args = process.argv.slice(2);
const options = { policy: null, expectShards: false, expectInternalCurve: false };
let mode = "validate";
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--policy") options.policy = args[++i];
  else if (args[i] === "--expect-shards") options.expectShards = true;
  else if (args[i] === "--expect-internal-curve") options.expectInternalCurve = true;
  else if (args[i] === "--containerfile") mode = "containerfile";
  else if (args[i] === "--self-test") mode = "self-test";
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error("usage: node validate.mjs [--policy FILE] [--expect-shards] [--expect-internal-curve] [--self-test | --containerfile] FILE...");
  process.exit(2);
}
let findings = [];
for (const file of files) {
  if (mode === "containerfile") {
    findings.push(...(await lintContainerfile(file)));
    continue;
  }
  const objects = readObjects(file);
  if (mode === "self-test") findings.push(...(await selfTest(objects, options)).map((f) => `${file}: ${f}`));
  else findings.push(...(await validateObjects(objects, options)).map((f) => `${file}: ${f}`));
  if (mode === "validate") console.log(`${file}: ${objects.length} objects checked`);
}
for (const f of findings) console.log(f);
console.log(findings.length ? `${findings.length} finding(s)` : `ok: ${mode} of ${files.join(", ")}`);
process.exit(findings.length ? 1 : 0);
