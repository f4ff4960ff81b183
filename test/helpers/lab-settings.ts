// Lab settings for tests: every field at its default from the one settings table, with overrides.
import { defaultOf } from '../../common/settings/field.ts';
import { labFields, type LabSettings } from '../../common/lab/lab-fields.ts';

export function labSettings(overrides: Partial<LabSettings> = {}): LabSettings {
  const defaults = Object.fromEntries(Object.entries(labFields).map(([key, field]) => [key, defaultOf(field)]));
  return { ...defaults, ...overrides } as LabSettings;
}
