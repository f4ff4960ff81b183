// One door to every Lab target: resolveTarget turns a LabTargetSpec (a named sample target,
// drawn points, an image, a CSV file, a named energy or a typed expression) into a Target.
import { LAB_ENERGIES, LAB_SAMPLE_TARGETS, type LabEnergyName, type LabSampleTargetName, type LabTargetSpec } from '../../../../common/lab/lab-catalog.ts';
import { ConfigError } from '../../errors.ts';
import type { Rng } from '../../random.ts';
import { csvTarget, parseCsvTable, readCsvText } from './csv-table.ts';
import { drawnPointsTarget } from './drawn-points.ts';
import { ENERGIES, type EnergyFn } from './energies.ts';
import { energyAt, gridLogZ } from './energy-grid.ts';
import { expressionEnergy } from './expression.ts';
import { imageTarget } from './image-density.ts';
import { PLANE_BOUNDS, type Bounds, type Target } from './target.ts';
import { TOY_LOG_DENSITIES } from './toy-densities.ts';
import { TOY_SAMPLERS } from './toy-samplers.ts';

export type { Bounds, Target } from './target.ts';

export interface ResolveOptions {
  /** The app's allowed folders: a CSV file must really lie inside them (the worker passes them; the CLI does not). */
  roots?: readonly string[];
}

function sampleTarget(name: LabSampleTargetName): Target {
  if (!Object.hasOwn(LAB_SAMPLE_TARGETS, name)) {
    throw new ConfigError('BAD_ARGUMENT', `Unknown sample target '${name}'; the targets are ${Object.keys(LAB_SAMPLE_TARGETS).join(', ')}.`);
  }
  return {
    kind: 'samples',
    dim: 2,
    label: LAB_SAMPLE_TARGETS[name].label,
    bounds: PLANE_BOUNDS,
    sample: TOY_SAMPLERS[name],
    logDensity: TOY_LOG_DENSITIES[name],
  };
}

function energyTarget(u: EnergyFn, bounds: Bounds, label: string, logZ: number): Target {
  return {
    kind: 'energy',
    dim: 2,
    label,
    bounds,
    energy: u,
    logZ,
    logDensity: (points) => energyAt(u, points).map((e) => -e - logZ),
  };
}

/** log Z of the named energies, computed once per process (a second or so each). */
const namedLogZ = new Map<LabEnergyName, number>();

function namedEnergyTarget(name: LabEnergyName): Target {
  if (!Object.hasOwn(ENERGIES, name)) {
    throw new ConfigError('BAD_ARGUMENT', `Unknown energy '${name}'; the energies are ${Object.keys(LAB_ENERGIES).join(', ')}.`);
  }
  const { u, bounds } = ENERGIES[name];
  const label = LAB_ENERGIES[name].label;
  if (!namedLogZ.has(name)) namedLogZ.set(name, gridLogZ(u, bounds, label));
  return energyTarget(u, bounds, label, namedLogZ.get(name)!);
}

/** The Target `spec` names; `rng` splits a CSV table's held-out rows. */
export async function resolveTarget(spec: LabTargetSpec, rng: Rng, options: ResolveOptions = {}): Promise<Target> {
  switch (spec.kind) {
    case 'samples':
      return sampleTarget(spec.name);
    case 'points':
      return drawnPointsTarget(spec.points);
    case 'image':
      return imageTarget(spec.width, spec.height, spec.pixels);
    case 'csv':
      return csvTarget(parseCsvTable(await readCsvText(spec.file, options.roots), spec.file, rng));
    case 'energy':
      return namedEnergyTarget(spec.name);
    case 'expression': {
      const u = expressionEnergy(spec.expression);
      return energyTarget(u, PLANE_BOUNDS, `U(x, y) = ${spec.expression}`, gridLogZ(u, PLANE_BOUNDS, 'The energy expression'));
    }
    default:
      throw new ConfigError('BAD_ARGUMENT', `Unknown kind of target '${(spec as { kind: unknown }).kind}'.`);
  }
}
