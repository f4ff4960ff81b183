// A Lab target's name for a person and its identity for the comparison table: every model
// trained on the same target (the same named set, drawing, image, file or energy) shares a key.
import { LAB_ENERGIES, LAB_SAMPLE_TARGETS, type LabTargetSpec } from './lab-catalog.ts';

/** What the Lab view and the table call the target. */
export function labTargetLabel(spec: LabTargetSpec): string {
  switch (spec.kind) {
    case 'samples': return LAB_SAMPLE_TARGETS[spec.name]?.label ?? spec.name;
    case 'energy': return LAB_ENERGIES[spec.name]?.label ?? spec.name;
    case 'expression': return `U(x, y) = ${spec.expression}`;
    case 'points': return `Drawn points (${spec.points.length})`;
    case 'image': return `Image ${spec.width}×${spec.height}`;
    case 'csv': return `CSV ${spec.file.split(/[\\/]/).pop()}`;
    case 'model': return `Distilled from ${spec.id}`;
  }
}

/** FNV-1a of a string, in hex: a short fingerprint of a drawing or an image, not a security hash. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Equal for two specs of the same target; short even for thousands of drawn points. */
export function labTargetKey(spec: LabTargetSpec): string {
  switch (spec.kind) {
    case 'samples': return `samples:${spec.name}`;
    case 'energy': return `energy:${spec.name}`;
    case 'expression': return `expression:${spec.expression.replace(/\s+/g, '')}`;
    case 'points': return `points:${spec.points.length}:${fingerprint(JSON.stringify(spec.points))}`;
    case 'image': return `image:${spec.width}x${spec.height}:${fingerprint(JSON.stringify(spec.pixels))}`;
    case 'csv': return `csv:${spec.file}`;
    case 'model': return `model:${spec.id}`;
  }
}
