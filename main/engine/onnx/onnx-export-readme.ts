// The README.md of an ONNX export: what sample.onnx and encode.onnx take and give for this model, and
// short code running them from Python onnxruntime and Node onnxruntime-node.
import type { RestoreTask } from '../restore/observation.ts';

export interface OnnxExportDescription {
  kind: string;
  /** Images per run: the batch dimension of every input and output is fixed to it. */
  batch: number;
  size: number;
  channels: number;
  nBits: number;
  /** Which weights are inside, in words (common/weights.ts' describeWeights). */
  weights: string;
  noise: { name: string; dims: number[] }[];
  latents: { name: string; dims: number[] }[];
  /** Classes of a conditional model; 0 for an unconditional one. */
  classes: number;
  classNames: readonly string[];
  /** Values per image of each Hutchinson probe input of encode.onnx (flow matching); empty for a flow. */
  probes: number[];
  /** TarFlow's noise augmentation sigma (0: none): FlowDesk scores noised images, this graph the bin centres. */
  noiseSigma: number;
  /** The restoration the model was trained for ('none' for most models). */
  restoreTask: RestoreTask;
  /** Dims of both graphs' observation input `y` of a restoration model; null for other models. */
  observation: number[] | null;
}

const shape = (dims: number[]) => `[${dims.join(', ')}]`;

/** How a person makes y for `task` from 8-bit pixels at the centres of their n-bit bins (restore/observation.ts, restore.ts). */
function observationHow(task: RestoreTask, nBits: number): string {
  const centre = `(floor(p / 2^${8 - nBits}) + 1/2) / 2^${nBits} - 1/2`;
  if (task === 'inpaint') return `the image's pixels at their bin centres, ${centre}, with the hole set to 0, then the mask (1 = kept, 0 = hole) as one more channel`;
  const factor = task === 'upscale-4' ? 4 : 2;
  return `the small image's pixels (1/${factor} of the side) at their bin centres, ${centre}, each repeated over its ${factor}x${factor} block`;
}

export function onnxExportReadme(d: OnnxExportDescription): string {
  const { batch: n, size, channels: c } = d;
  const image = shape([n, size, size, c]);
  const classes = d.classes > 0;
  const probeNames = d.probes.map((_, i) => (i === 0 ? 'probes' : `probes.${i}`));
  const noiseLines = d.noise.map((z) => `| \`${z.name}\` | float32 ${shape(z.dims)} | standard normal noise (N(0, 1) per value) |`);
  const pyNoise = d.noise.map((z) => `"${z.name}": rng.standard_normal(${JSON.stringify(z.dims).replace(/\[/g, '(').replace(/\]/g, ')')}, dtype=np.float32)`).join(', ');
  const jsNoise = d.noise.map((z) => `'${z.name}': normal(${JSON.stringify(z.dims)})`).join(', ');
  const pyClasses = classes ? `, "classes": np.eye(${d.classes}, dtype=np.float32)[np.zeros(${n}, dtype=int)]` : '';
  const jsClasses = classes ? `, classes: oneHot(${n}, ${d.classes}, 0)` : '';
  const pyProbes = probeNames.map((p, i) => `, "${p}": rng.choice(np.float32([-1, 1]), (${n}, ${d.probes[i]}))`).join('');
  const jsProbes = probeNames.map((p, i) => `, '${p}': rademacher([${n}, ${d.probes[i]}])`).join('');
  const y = d.observation;
  // The examples condition on nothing observed (zeros); a real y is made as the tables say.
  const yLine = y ? `| \`y\` | float32 ${shape(y)} | the observation the model was trained to be given (restoreTask ${d.restoreTask}): ${observationHow(d.restoreTask, d.nBits)}; all zeros: nothing observed |\n` : '';
  const pyY = y ? `, "y": np.zeros(${JSON.stringify(y).replace(/\[/g, '(').replace(/\]/g, ')')}, dtype=np.float32)` : '';
  const jsY = y ? `, y: new ort.Tensor('float32', new Float32Array(size(${JSON.stringify(y)})), ${JSON.stringify(y)})` : '';
  return `# FlowDesk ${d.kind} model as ONNX

Exported by \`flowdesk export --onnx\`. Both files are standard ONNX (opset 17, default domain only)
with the weights inside as initializers. Weights: ${d.weights} (\`--weights avg\`, the moving
average, is the default; \`--weights last|best\` export the last step's or the best-validation ones).

The batch dimension is fixed at **${n} images** per run (the export's \`--batch\`); for fewer
images, pad the inputs and drop the extra rows. Images are ${size}x${size} with ${c} channel${c > 1 ? 's' : ''},
NHWC, uint8 pixels 0-255; the model was trained on ${d.nBits}-bit data.

## sample.onnx

| input | type | meaning |
| --- | --- | --- |
${noiseLines.join('\n')}
| \`temperature\` | float32 [1] | multiplies the noise: 1 samples the model's own distribution, lower values give smoother images |
${classes ? `| \`classes\` | float32 [${n}, ${d.classes}] | one-hot class rows (index order: ${d.classNames.join(', ') || 'see model.json'}); an all-zero row means no class |\n` : ''}${yLine}
| output | type | meaning |
| --- | --- | --- |
| \`images\` | uint8 ${image} | the samples as pixels: each value's ${d.nBits}-bit bin (values outside the image range clipped) at its middle 8-bit value, as FlowDesk's sample grids show them |

## encode.onnx

| input | type | meaning |
| --- | --- | --- |
| \`pixels\` | uint8 ${image} | images; each value is taken at the centre of its ${d.nBits}-bit bin, x = (floor(p / 2^${8 - d.nBits}) + 1/2) / 2^${d.nBits} - 1/2, without dequantization noise |
${probeNames.map((p, i) => `| \`${p}\` | float32 [${n}, ${d.probes[i]}] | Hutchinson probes of the log-likelihood estimate: -1 or 1 with equal odds |\n`).join('')}${yLine}
| output | type | meaning |
| --- | --- | --- |
${d.latents.map((z) => `| \`${z.name}\` | float32 ${shape(z.dims)} | latent of level ${z.name.slice(2)} (${d.latents.length > 1 ? 'factored-out levels first, the top last' : 'the one latent'}) |`).join('\n')}
| \`logp\` | float32 [${n}] | log p(x${y ? ' \\| y' : ''}) in **nats per image**: the model's continuous density at those bin centres${classes ? ', summed over the classes weighted by their training frequencies' : ''}${d.probes.length ? ' (an unbiased estimate through the probes)' : ''} |
| \`bpd\` | float32 [${n}] | **bits per dimension per image** of the ${d.nBits}-bit data: -(logp - D log 2^${d.nBits}) / (D log 2), D = ${size * size * c} |

FlowDesk's validation curves average bits per dim over images with uniform dequantization noise${d.noiseSigma > 0 ? ` and, as this model was trained, Gaussian noise of σ = ${d.noiseSigma}` : ''};
at bin centres the values differ from them${d.noiseSigma > 0 ? '' : ' slightly'}.

## Python (onnxruntime)

\`\`\`python
import numpy as np, onnxruntime as ort

rng = np.random.default_rng(0)
sample = ort.InferenceSession("sample.onnx")
images = sample.run(["images"], {${pyNoise}, "temperature": np.float32([0.7])${pyClasses}${pyY}})[0]

encode = ort.InferenceSession("encode.onnx")
out = encode.run(None, {"pixels": images${pyProbes}${pyY}})
print(dict(zip([o.name for o in encode.get_outputs()], [o.shape for o in out])))
\`\`\`

## Node (onnxruntime-node)

\`\`\`js
const ort = require('onnxruntime-node');

const size = (dims) => dims.reduce((a, b) => a * b, 1);
const normal = (dims) => new ort.Tensor('float32', Float32Array.from({ length: size(dims) }, () =>
  Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random())), dims);
${classes ? `const oneHot = (n, k, y) => new ort.Tensor('float32', Float32Array.from({ length: n * k }, (_, i) => (i % k === y ? 1 : 0)), [n, k]);\n` : ''}${d.probes.length ? `const rademacher = (dims) => new ort.Tensor('float32', Float32Array.from({ length: size(dims) }, () => (Math.random() < 0.5 ? -1 : 1)), dims);\n` : ''}
(async () => {
  const sample = await ort.InferenceSession.create('sample.onnx');
  const { images } = await sample.run({ ${jsNoise}, temperature: new ort.Tensor('float32', [0.7], [1])${jsClasses}${jsY} });
  const encode = await ort.InferenceSession.create('encode.onnx');
  const { logp, bpd } = await encode.run({ pixels: images${jsProbes}${jsY} });
  console.log(images.dims, logp.data, bpd.data);
})();
\`\`\`
`;
}
