// The residual family (i-ResNet, Residual Flows): settings.layers residual blocks over a standard
// normal base. Density is closed form up to the log-det estimator; sampling inverts each block numerically.
import { EXACT_LOG_DET_MAX_DIM } from '../../../../common/lab/lab-fields.ts';
import { ConfigError } from '../../errors.ts';
import { ParamStore } from '../../flows/params.ts';
import type { LabModelBuilder } from '../lab-model.ts';
import { LayerStack } from '../layer-stack.ts';
import { ResidualBlock } from './residual-block.ts';

export const buildResidualFlow: LabModelBuilder = (settings, dim, rng) => {
  if (settings.logDetEstimator === 'exact' && dim > EXACT_LOG_DET_MAX_DIM) {
    throw new ConfigError(
      'BAD_CONFIG',
      `logDetEstimator 'exact' builds the whole Jacobian and works up to ${EXACT_LOG_DET_MAX_DIM} dimensions; these data have ${dim}: choose 'russian-roulette' or 'power-series'.`,
    );
  }
  const params = new ParamStore();
  const blocks = Array.from({ length: settings.layers }, (_, i) => new ResidualBlock(params.scope(`block${i}`), dim, settings, rng));
  return new LayerStack('residual', dim, settings, params, blocks);
};
