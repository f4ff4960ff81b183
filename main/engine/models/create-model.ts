// Builds a model from its config and seed: the one place that knows every model kind.
import { createGlow } from './glow.ts';
import { FlowMatching } from './flow-matching.ts';
import { Nice } from './nice.ts';
import { createRealNvp } from './realnvp.ts';
import { TarFlow } from './tarflow.ts';
import { resolveModelConfig, type ModelConfig } from './config.ts';
import type { FlowModel } from './flow-model.ts';

/**
 * Builds any config of a valid shape, including a stored one whose fields exceed today's bounds;
 * new settings are held to the bounds where they come in (Api, CLI, `train`).
 */
export function createModel(config: ModelConfig, seed = 0): FlowModel {
  const resolved = resolveModelConfig(config, 'stored');
  switch (resolved.kind) {
    case 'glow':
      return createGlow(resolved, seed);
    case 'realnvp':
      return createRealNvp(resolved, seed);
    case 'nice':
      return new Nice(resolved, seed);
    case 'tarflow':
      return new TarFlow(resolved, seed);
    case 'flow-matching':
      return new FlowMatching(resolved, seed);
  }
}
