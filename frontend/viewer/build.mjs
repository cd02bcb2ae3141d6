// Builds the diagnostic viewer into static/vendor/cornerstone/: the viewer (an ES module, so the
// dicom-image-loader finds its worker beside it through import.meta.url), the decoding worker, the
// licences of every package that ends up in either file, and a README saying how it was made.
// Run with `npm run build` here or `scripts/build-viewer` from the repository root.
import { readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "static", "vendor", "cornerstone");
const loader = join(here, "node_modules", "@cornerstonejs", "dicom-image-loader", "dist", "esm");

// The portal's WADO-RS sends native (uncompressed) frames only, so the loader's WebAssembly codecs for
// JPEG, JPEG-LS, JPEG 2000 and HTJ2K would be dead weight (about 2 MB) and would need 'wasm-unsafe-eval'
// in the Content-Security-Policy. Each is replaced by a factory that fails with a message saying why.
const wasmCodecs = /^@cornerstonejs\/codec-(charls|libjpeg-turbo-8bit|openjpeg|openjph)\//;
const withoutWasmCodecs = {
  name: "without-wasm-codecs",
  setup(build) {
    build.onResolve({ filter: wasmCodecs }, (args) => ({ path: args.path, namespace: "no-codec" }));
    build.onLoad({ filter: /.*/, namespace: "no-codec" }, (args) => ({
      contents:
        "export default function () { return Promise.reject(new Error(" +
        JSON.stringify(`${args.path} is not bundled: the portal serves native frames only`) +
        ")); }",
      loader: "js",
    }));
  },
};

// Cornerstone's tools draw their lines and labels with style *attributes*, which the portal's CSP
// (style-src 'self', no 'unsafe-inline') refuses; the same declarations set through the CSSOM are
// allowed, so those calls are rewritten. The build stops if a new version changed them.
const styleRewrites = [
  {
    file: /drawingSvg[\\/]drawTextBox\.js$/,
    from: "textElement.setAttribute('style', combinedStyle);",
    to: "textElement.style.cssText = combinedStyle;",
  },
  {
    file: /drawingSvg[\\/](setNewAttributesIfValid|setAttributesIfNecessary)\.js$/,
    from: "svgNode.setAttribute(key, newValue);",
    to: "if (key === 'style') svgNode.style.cssText = newValue; else svgNode.setAttribute(key, newValue);",
  },
];
const cspSafeStyles = {
  name: "csp-safe-styles",
  setup(build) {
    for (const { file, from, to } of styleRewrites) {
      build.onLoad({ filter: file }, (args) => {
        const source = readFileSync(args.path, "utf8");
        if (!source.includes(from)) {
          throw new Error(`${args.path} changed: check how it sets styles before updating the rewrite`);
        }
        return { contents: source.replace(from, to), loader: "js" };
      });
    }
  },
};

function packageOf(file) {
  const parts = file.split("node_modules/");
  if (parts.length < 2) return null;
  const rest = parts[parts.length - 1].split("/");
  const name = rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  return join(parts.slice(0, -1).join("node_modules/"), "node_modules", name);
}

// The licence file, or where a package ships none (seedrandom), the licence section of its README.
function licenceText(folder, name) {
  const files = readdirSync(folder);
  const file = files.find((entry) => /^licen[cs]e/i.test(entry));
  if (file) return readFileSync(join(folder, file), "utf8").trim();
  const readme = files.find((entry) => /^readme/i.test(entry));
  const section = readme && readFileSync(join(folder, readme), "utf8").match(/^#*\s*licen[cs]e\b[\s\S]*/im);
  if (!section) throw new Error(`${name} states no licence text: add it by hand before bundling it`);
  return section[0].trim();
}

function licences(metafile) {
  const folders = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const folder = packageOf(join(here, input));
      if (folder) folders.add(folder);
    }
  }
  const sections = [...folders].sort().map((folder) => {
    const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
    const text = licenceText(folder, manifest.name);
    return { name: manifest.name, version: manifest.version, licence: manifest.license, text };
  });
  return sections;
}

function readme(packages, sizes) {
  const rows = packages.map((p) => `| ${p.name} | ${p.version} | ${p.licence} |`).join("\n");
  const files = sizes.map((s) => `| ${s.file} | ${s.raw} | ${s.gzip} |`).join("\n");
  return `# Cornerstone3D viewer bundle (built, committed)

Built from \`frontend/viewer/\` (source \`src/viewer.js\`, pinned by its package-lock.json) with
\`scripts/build-viewer\` (or \`npm ci && npm run build\` in frontend/viewer), so that neither \`make run\`
nor CI needs npm or a CDN. Do not edit these files: change the source and rebuild.

Built with node ${process.version} and esbuild ${esbuild.version}. The wasm codecs of the
dicom-image-loader are left out (the portal's WADO-RS sends native frames), and the tools' style
attributes are set through the CSSOM instead, for the portal's Content-Security-Policy (see build.mjs).

| File | Bytes | Gzipped bytes |
|---|---|---|
${files}

| Bundled package | Version | Licence |
|---|---|---|
${rows}

Their licence texts are in LICENSES.
`;
}

async function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: {
      viewer: join(here, "src", "viewer.js"),
      decodeImageFrameWorker: join(loader, "decodeImageFrameWorker.js"),
    },
    outdir: out,
    bundle: true,
    format: "esm",
    splitting: false,
    minify: true,
    legalComments: "none", // gathered whole into LICENSES instead
    target: ["es2022"],
    metafile: true,
    logLevel: "warning",
    plugins: [withoutWasmCodecs, cspSafeStyles],
  });
  const packages = licences(result.metafile);
  writeFileSync(
    join(out, "LICENSES"),
    packages.map((p) => `${p.name} ${p.version} (${p.licence})\n\n${p.text}\n`).join(`\n${"-".repeat(72)}\n\n`),
  );
  const sizes = readdirSync(out)
    .filter((file) => file.endsWith(".js"))
    .map((file) => {
      const bytes = readFileSync(join(out, file));
      return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
  writeFileSync(join(out, "README.md"), readme(packages, sizes));
  for (const s of sizes) console.log(`${s.file}: ${s.raw} bytes, ${s.gzip} gzipped`);
}

await main();
