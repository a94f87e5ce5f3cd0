/**
 * TensorFlow Serving over gRPC: `tensorflow.serving.PredictionService/Predict` and
 * `tensorflow.serving.ModelService/GetModelStatus`, from the project's protos under
 * protos/tensorflow_serving/apis. Inputs are TensorProtos (`tensor_content` or the typed
 * `*_val` field of their dtype); outputs are answered in the typed fields, as TF Serving does
 * by default. `model_spec.version` picks a version; version labels are not served.
 */
import type { Tensor } from '../../serving/tensor.js';
import type { DataPlane } from '../data-plane.js';
import type { GrpcProtocol } from '../protocol.js';
import { badRequest } from './json-body.js';
import { checkSignature, defaultSignature, versionStatuses } from './tf-serving.js';
import { protoFromTensor, tensorFromProto, type TensorProto } from './tf-tensors.js';

interface ModelSpec {
  readonly name: string;
  readonly version?: { readonly value: string } | null;
  readonly version_label?: string;
  readonly signature_name: string;
}

interface PredictRequest {
  readonly model_spec: ModelSpec | null;
  readonly inputs: Readonly<Record<string, TensorProto>>;
  readonly output_filter: readonly string[];
}

interface GetModelStatusRequest {
  readonly model_spec: ModelSpec | null;
}

/** The model name and version a ModelSpec names. */
function specOf(spec: ModelSpec | null): { name: string; version: string | undefined } {
  if (!spec || spec.name === '') throw badRequest('model_spec.name is missing: name the model to call');
  if (spec.version_label) throw badRequest(`model_spec.version_label '${spec.version_label}' is not supported: give model_spec.version`);
  return { name: spec.name, version: spec.version ? String(spec.version.value) : undefined };
}

export const tfServingPrediction: GrpcProtocol = {
  name: 'tf-serving-grpc',
  transport: 'grpc',
  protoFiles: ['tensorflow_serving/apis/prediction_service.proto'],
  service: 'tensorflow.serving.PredictionService',
  methods: (plane: DataPlane) => ({
    Predict: async (message, call) => {
      const request = message as PredictRequest;
      const { name, version } = specOf(request.model_spec);
      const model = plane.model(name, version);
      call.model = model.name;
      checkSignature(request.model_spec?.signature_name ?? '', model.name);
      const inputs: Record<string, Tensor> = {};
      for (const [input, proto] of Object.entries(request.inputs)) inputs[input] = tensorFromProto(model, input, proto);
      const outputs = await model.infer(inputs, request.output_filter);
      return {
        model_spec: { name: model.name, version: { value: model.version }, signature_name: defaultSignature },
        outputs: Object.fromEntries(Object.entries(outputs).map(([output, t]) => [output, protoFromTensor(t)])),
      };
    },
  }),
};

export const tfServingModelStatus: GrpcProtocol = {
  name: 'tf-serving-model-service',
  transport: 'grpc',
  protoFiles: ['tensorflow_serving/apis/model_service.proto'],
  service: 'tensorflow.serving.ModelService',
  methods: (plane: DataPlane) => ({
    GetModelStatus: async (message, call) => {
      const { name, version } = specOf((message as GetModelStatusRequest).model_spec);
      const statuses = versionStatuses(plane, name, version);
      call.model = name;
      return {
        model_version_status: statuses.map((s) => ({ version: s.version, state: s.state, status: { error_code: s.errorCode, error_message: s.errorMessage } })),
      };
    },
  }),
};
