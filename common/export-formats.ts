// The formats a model exports to: FlowDesk's own open format (model.json + weights.safetensors,
// docs/checkpoint-format.md) or standard ONNX (sample.onnx + encode.onnx with the weights inside).

export const EXPORT_FORMATS = ['flowdesk', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
