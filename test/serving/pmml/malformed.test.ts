/**
 * Models the executor must reject when they load, each with a SLUICE_ERR_MODEL_INVALID that
 * names the model, the reason, and (where there is one) the element at fault.
 */
import { describe, expect, it } from 'vitest';
import { pmmlExecutor } from '../../../src/serving/executors/pmml/index.js';
import { descriptor, edited, fixture, load, sluiceError } from './support.js';

const invalid = (...fragments: string[]): object => sluiceError('SLUICE_ERR_MODEL_INVALID', ...fragments);

/** A one-field regression document with `model` as its model element. */
function document(model: string, dictionary = '<DataField name="x" optype="continuous" dataType="double"/>'): string {
  return `<?xml version="1.0"?><PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${dictionary}</DataDictionary>${model}</PMML>`;
}

describe('documents that are not PMML', () => {
  it('rejects bytes that are not XML', async () => {
    await expect(load('hello, world', 'm1')).rejects.toEqual(invalid('model m1 cannot be loaded: the model is not XML', 'line 1, column 1'));
    const onnxLike = descriptor('m2', null);
    const bytes = Buffer.from([0x08, 0x08, 0x12, 0x07, 0x70, 0x79, 0x74, 0x6f, 0x72, 0x63, 0x68]);
    await expect(pmmlExecutor.load({ ...onnxLike, modelBytes: bytes })).rejects.toEqual(invalid('model m2 cannot be loaded: the model is not XML'));
    const notUtf8 = Buffer.from([0x3c, 0x50, 0xff, 0xfe, 0x3e]);
    await expect(pmmlExecutor.load({ ...onnxLike, modelBytes: notUtf8 })).rejects.toEqual(invalid('the model is not XML: its bytes are not UTF-8 text'));
  });

  it('rejects truncated XML with the line it breaks on', async () => {
    const text = fixture('tree-regression.pmml');
    await expect(load(text.slice(0, Math.floor(text.length / 2)))).rejects.toEqual(invalid('the model is not XML', 'line'));
  });

  it('rejects XML that is not PMML', async () => {
    await expect(load('<html><body/></html>')).rejects.toEqual(invalid("the document's root element is <html>, not <PMML>: this is not a PMML document"));
    await expect(load('<PMML version="4.4"><Header/></PMML>')).rejects.toEqual(invalid('PMML has no DataDictionary'));
    await expect(load(document(''))).rejects.toEqual(invalid('PMML has no model element; supported: RegressionModel, TreeModel, MiningModel, Scorecard'));
  });

  it('rejects elements nested deeper than the limit', async () => {
    let nodes = '';
    for (let i = 0; i < 1600; i++) nodes += '<Node score="1"><True/>';
    for (let i = 0; i < 1600; i++) nodes += '</Node>';
    const deep = document(`<TreeModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>${nodes}</TreeModel>`);
    await expect(load(deep)).rejects.toEqual(invalid('the XML nests elements deeper than 1500 levels'));
  });
});

describe('unsupported models and features', () => {
  it('names an unsupported model element and the supported ones', async () => {
    await expect(load(document('<NeuralNetwork functionName="regression" activationFunction="tanh"><MiningSchema/></NeuralNetwork>'), 'nn')).rejects.toEqual(
      invalid(
        'model nn cannot be loaded: model element NeuralNetwork is not supported (supported: RegressionModel, TreeModel, MiningModel, Scorecard)',
        '(at PMML/NeuralNetwork)',
      ),
    );
    const segment = edited(
      'random-forest.pmml',
      [
        '<Segment id="2" weight="2">\n\t\t\t\t<True/>\n\t\t\t\t<TreeModel functionName="classification">',
        '<Segment id="2" weight="2">\n\t\t\t\t<True/>\n\t\t\t\t<NaiveBayesModel functionName="classification">',
      ],
      ['</TreeModel>\n\t\t\t</Segment>\n\t\t\t<Segment id="3"', '</NaiveBayesModel>\n\t\t\t</Segment>\n\t\t\t<Segment id="3"'],
    );
    await expect(load(segment)).rejects.toEqual(invalid('model element NaiveBayesModel is not supported', 'Segment[id=2]/NaiveBayesModel'));
  });

  it('rejects unsupported functions, methods, strategies, features and types', async () => {
    await expect(load(edited('tree-regression.pmml', ['functionName="regression"', 'functionName="clustering"']))).rejects.toEqual(
      invalid("TreeModel has functionName 'clustering'; supported: regression, classification"),
    );
    await expect(load(edited('random-forest.pmml', ['"majorityVote"', '"selectAll"']))).rejects.toEqual(
      invalid(
        "multipleModelMethod 'selectAll' is not supported (supported: sum, weightedSum, average, weightedAverage, median, max, majorityVote, weightedMajorityVote, modelChain, selectFirst)",
      ),
    );
    await expect(load(edited('tree-regression.pmml', ['"lastPrediction"', '"weightedConfidence"']))).rejects.toEqual(
      invalid("TreeModel missingValueStrategy 'weightedConfidence' is not supported (supported: none, lastPrediction, nullPrediction, defaultChild)"),
    );
    await expect(load(edited('select-first.pmml', ['feature="predictedValue"', 'feature="entityId"']))).rejects.toEqual(
      invalid(
        "OutputField feature 'entityId' is not supported (supported: predictedValue, probability, transformedValue, reasonCode)",
        'OutputField[name=predicted_sales]',
      ),
    );
    await expect(load(edited('select-first.pmml', ['feature="predictedValue"', 'feature="probability"']))).rejects.toEqual(
      invalid("OutputField 'predicted_sales' asks for a probability, but the model is a regression"),
    );
    await expect(
      load(edited('tree-regression.pmml', ['name="x2" optype="continuous" dataType="double"', 'name="x2" optype="continuous" dataType="date"'])),
    ).rejects.toEqual(
      invalid("DataField has dataType 'date', which this executor does not support (supported: string, integer, float, double, boolean)", 'DataField[name=x2]'),
    );
    await expect(load(edited('tree-regression.pmml', ['functionName="regression"', 'functionName="regression" isScorable="false"']))).rejects.toEqual(
      invalid('TreeModel says isScorable="false"'),
    );
    const locator = edited('transformations.pmml', [
      '<InlineTable>\n\t\t\t\t\t<row><data:input>paris',
      '<TableLocator/><InlineTable>\n\t\t\t\t\t<row><data:input>paris',
    ]);
    await expect(load(locator)).rejects.toEqual(invalid('MapValues with a TableLocator (an external table) is not supported'));
    const aggregate = edited('transformations.pmml', ['<FieldRef field="age" mapMissingTo="0"/>', '<Aggregate field="age" function="sum"/>']);
    await expect(load(aggregate)).rejects.toEqual(invalid('Aggregate is not a supported expression', 'DerivedField[name=age_or_zero]/Aggregate'));
  });
});

describe('documents that contradict themselves', () => {
  it('rejects references to undefined fields, naming the field and where it is used', async () => {
    await expect(load(edited('linear-regression.pmml', ['<NumericPredictor name="rooms"', '<NumericPredictor name="bedrooms"']), 'houses')).rejects.toEqual(
      invalid(
        "model houses cannot be loaded: field 'bedrooms' is not defined: it is neither a DataField in the MiningSchema of RegressionModel 'house-prices', nor a DerivedField, nor an earlier OutputField",
        '(at PMML/RegressionModel[modelName=house-prices]/RegressionTable/NumericPredictor[name=bedrooms])',
      ),
    );
    await expect(load(edited('tree-regression.pmml', ['field="x2" operator="isMissing"', 'field="x3" operator="isMissing"']))).rejects.toEqual(
      invalid("field 'x3' is not defined", 'Node[id=6]/SimplePredicate[field=x3]'),
    );
    await expect(load(edited('tree-regression.pmml', ['<MiningField name="x2"/>', '<MiningField name="x2"/><MiningField name="x9"/>']))).rejects.toEqual(
      invalid("MiningField 'x9' names no DataField of the DataDictionary"),
    );
    // A DataField left out of the MiningSchema is not an input, so a model cannot use it.
    await expect(load(edited('tree-regression.pmml', ['<MiningField name="x2"/>', '']))).rejects.toEqual(invalid("field 'x2' is not defined"));
  });

  it('rejects values that do not fit their field', async () => {
    await expect(load(edited('tree-regression.pmml', ['operator="lessOrEqual" value="2.5"', 'operator="lessOrEqual" value="two"']))).rejects.toEqual(
      invalid("SimplePredicate value for double field 'x1': 'two' is not a valid double", 'Node[id=2]/SimplePredicate[field=x1]'),
    );
    await expect(load(edited('linear-regression.pmml', ['coefficient="1.75"', 'coefficient="1.7.5"']))).rejects.toEqual(
      invalid("NumericPredictor attribute 'coefficient' is '1.7.5', which is not a number"),
    );
    await expect(load(edited('linear-regression.pmml', ['<RegressionTable intercept="12.5">', '<RegressionTable>']))).rejects.toEqual(
      invalid("RegressionTable has no 'intercept' attribute"),
    );
    await expect(
      load(edited('tree-classification.pmml', ['<ScoreDistribution value="no" recordCount="4"/>', '<ScoreDistribution value="maybe" recordCount="4"/>'])),
    ).rejects.toEqual(invalid("class 'maybe' is not one of the values target 'play' declares (no, yes)"));
    await expect(load(edited('tree-classification.pmml', ['"sunny" "rain"', '"sunny" "rain" "snow"']))).rejects.toEqual(
      invalid('Array says n="2" but holds 3 entries'),
    );
    await expect(load(edited('tree-classification.pmml', ['field="humidity" operator="lessOrEqual"', 'field="windy" operator="lessOrEqual"']))).rejects.toEqual(
      invalid("SimplePredicate 'lessOrEqual' orders values, but field 'windy' is categorical string"),
    );
  });

  it('rejects models without inputs, with two targets, or with a wrong number of tables', async () => {
    const noInput = document(
      '<RegressionModel functionName="regression"><MiningSchema><MiningField name="x" usageType="target"/></MiningSchema><RegressionTable intercept="1"/></RegressionModel>',
    );
    await expect(load(noInput)).rejects.toEqual(invalid('the model has no active MiningField: there is no input to score it on'));
    await expect(load(edited('linear-regression.pmml', ['<MiningField name="age"/>', '<MiningField name="age" usageType="target"/>']))).rejects.toEqual(
      invalid('RegressionModel has 2 target fields (price, age); only single-target models are supported'),
    );
    await expect(load(edited('logistic-regression.pmml', ['<RegressionTable intercept="0.0" targetCategory="0"/>', '']))).rejects.toEqual(
      invalid('a classification RegressionModel needs a RegressionTable per class, this one has 1'),
    );
  });
});
