# Bad-input corpus, generated half (included from tests/cli/CMakeLists.txt).
# The fixture bad_setup writes damaged datasets and checkpoints into BAD
# (bad_setup.sh); every case names the file and the problem.
set(BAD ${CMAKE_CURRENT_BINARY_DIR}/bad_inputs)
add_executable(pg_bad_data ../support/bad_data.c)
target_link_libraries(pg_bad_data PRIVATE PkgConfig::HDF5)
pg_cli_test(bad_setup bad_setup.sh ${BAD} $<TARGET_FILE:pg_bad_data> $<TARGET_FILE:ckpt_tamper>)
set_tests_properties(bad_setup PROPERTIES FIXTURES_SETUP bad_inputs LABELS "cli;badinput")

# pg_bad_gen(NAME NPROCS EXPECTED ARGS...): a case on a generated file
function(pg_bad_gen name nprocs expected)
  pg_bad_input(${name} ${nprocs} "${expected}" ${ARGN})
  set_tests_properties(bad_${name} PROPERTIES FIXTURES_REQUIRED bad_inputs)
endfunction()

# --- configs (cli/bad/*.ini, schedule files) ---
pg_bad_input(config_wrong_type 2 "cli/bad/wrong_type.ini:3: model.tied: expected an integer, got 'yes'"
             train --config cli/bad/wrong_type.ini)
pg_bad_input(config_out_of_range 2 "optim.lr: must be > 0, got -0.5" train --config cli/bad/out_of_range.ini)
pg_bad_input(config_empty_value 2 "cli/bad/empty_value.ini:3: optim.lr: expected a number, got ''"
             train --config cli/bad/empty_value.ini)
pg_bad_input(config_bad_layer_spec 2 "model.layers: layer 0: linear needs 'linear:OUT[,nobias]', got 'linear:abc'"
             train --config cli/bad/bad_layer_spec.ini)
pg_bad_input(config_long_line 2 "cli/bad/long_line.ini:4: line too long" train --config cli/bad/long_line.ini)
pg_bad_input(config_binary 2 "${BAD}/data/good.h5: not a text file (contains NUL bytes)"
             train --config ${BAD}/data/good.h5)
set_tests_properties(bad_config_binary PROPERTIES FIXTURES_REQUIRED bad_inputs)
pg_bad_input(config_directory 2 "cannot read config file 'cli/bad'" train --config cli/bad)
pg_bad_input(config_batch_too_big 2 "train.batch_size: must lie in [1, 1048576], got 2000000000"
             train --set train.batch_size=2000000000)
pg_bad_input(config_input_dim_too_big 2 "model.input_dim: must lie in [1, 1048576], got 2000000000"
             train --set model.type=mlp --set model.input_dim=2000000000)
pg_bad_input(config_layer_width 2 "model.layers: layer 0: linear width 99999999999 out of range"
             train --set model.type=mlp --set "model.layers=linear:99999999999 mse")
pg_bad_input(config_schedule_file_unset 2 "parallel.schedule=file needs parallel.schedule_file"
             train --set parallel.schedule=file)
pg_bad_input(schedule_file_bad_action 2 "cli/bad/schedule_bad_action.txt: line 2: cannot read action '0Q7'"
             train --pp 2 -m 1 --set parallel.schedule=file --set parallel.schedule_file=cli/bad/schedule_bad_action.txt)
pg_bad_input(schedule_file_bad_microbatch 2 "cli/bad/schedule_bad_microbatch.txt: microbatch 7 used, but the run has 1 microbatches"
             train --pp 2 -m 1 --set parallel.schedule=file --set parallel.schedule_file=cli/bad/schedule_bad_microbatch.txt)
pg_bad_input(schedule_file_empty 0 "cli/bad/schedule_empty.txt: no actions found"
             schedule --file cli/bad/schedule_empty.txt)

# --- token datasets (generated: tests/support/bad_data.c) ---
pg_bad_gen(data_float 2 "${BAD}/data/tokens_float.h5: /tokens: expected an integer dtype"
           train --set data.path=${BAD}/data/tokens_float.h5)
pg_bad_gen(data_empty 2 "${BAD}/data/tokens_empty.h5: /tokens: the dataset is empty"
           train --set data.path=${BAD}/data/tokens_empty.h5)
pg_bad_gen(data_2d 2 "${BAD}/data/tokens_2d.h5: /tokens: expected a 1-D array"
           train --set data.path=${BAD}/data/tokens_2d.h5)
pg_bad_gen(data_scalar 0 "${BAD}/data/tokens_scalar.h5: /tokens: expected a 1-D array"
           prep --check ${BAD}/data/tokens_scalar.h5)
pg_bad_gen(data_out_of_range 2 "${BAD}/data/tokens_out_of_range.h5: /tokens[0] = 300 lies outside the vocabulary"
           train --set data.path=${BAD}/data/tokens_out_of_range.h5)
pg_bad_gen(data_negative 0 "${BAD}/data/tokens_negative.h5: /tokens[0] = -3 lies outside the vocabulary"
           prep --check ${BAD}/data/tokens_negative.h5)
pg_bad_gen(data_int64_overflow 2 "${BAD}/data/tokens_int64_overflow.h5: /tokens[0] = 8589934592 lies outside"
           train --set data.path=${BAD}/data/tokens_int64_overflow.h5)
pg_bad_gen(data_no_vocab 2 "${BAD}/data/tokens_no_vocab.h5: /tokens: missing or bad integer attribute vocab_size"
           train --set data.path=${BAD}/data/tokens_no_vocab.h5)
pg_bad_gen(data_vocab_text 0 "${BAD}/data/tokens_vocab_text.h5: /tokens: missing or bad integer attribute vocab_size"
           prep --check ${BAD}/data/tokens_vocab_text.h5)
pg_bad_gen(data_vocab_zero 2 "${BAD}/data/tokens_vocab_zero.h5: /tokens: attribute vocab_size = 0 lies outside [1, 16777216]"
           train --set data.path=${BAD}/data/tokens_vocab_zero.h5)
pg_bad_gen(data_vocab_huge 0 "${BAD}/data/tokens_vocab_huge.h5: /tokens: attribute vocab_size = 1099511627776 lies outside"
           prep --check ${BAD}/data/tokens_vocab_huge.h5)
pg_bad_gen(data_vocab_over_model 2 "${BAD}/data/tokens_vocab_big.h5:/tokens: vocab_size 1000 exceeds model.vocab=256"
           train --set data.path=${BAD}/data/tokens_vocab_big.h5)
pg_bad_gen(data_unwritten 2 "${BAD}/data/tokens_unwritten.h5: /tokens: declares 1099511627776 tokens but the file does not hold their data"
           train --set data.path=${BAD}/data/tokens_unwritten.h5)
pg_bad_gen(data_no_tokens 2 "${BAD}/data/no_tokens.h5: no dataset /tokens" train --set data.path=${BAD}/data/no_tokens.h5)
pg_bad_gen(data_tokens_group 0 "${BAD}/data/tokens_group.h5: no dataset /tokens" prep --check ${BAD}/data/tokens_group.h5)
pg_bad_gen(data_truncated 2 "${BAD}/data/truncated.h5: cannot open the HDF5 file"
           train --set data.path=${BAD}/data/truncated.h5)
pg_bad_gen(prep_overwrite_refused 0 "token 0 is 91, outside the vocabulary"
           prep cli/bad/no_loss.ini -o ${BAD}/data/good.h5 --vocab 50)

# --- checkpoints (generated: ckpt_tamper damages a good one), through
# `ckpt verify` and `train --resume` (2 ranks, the checkpoint dir unchanged) ---
# pg_bad_ckpt(NAME FILE EXPECTED [verify|resume|both])
function(pg_bad_ckpt name file expected how)
  if(NOT how STREQUAL "resume")
    pg_bad_gen(ckpt_verify_${name} 0 "${expected}" ckpt verify ${file})
  endif()
  if(NOT how STREQUAL "verify")
    pg_bad_gen(ckpt_resume_${name} 2 "${expected}" train --config cli/bad/tiny_mlp.ini --pp 2
               --steps 4 --set checkpoint.dir=${BAD}/ckpt --resume ${file})
  endif()
endfunction()
set(WEIGHT /params/layers.0.weight)
pg_bad_ckpt(truncated ${BAD}/ckpt_truncated.h5 "${BAD}/ckpt_truncated.h5: " both)
pg_bad_ckpt(flipped_bit ${BAD}/ckpt_flip.h5 "${BAD}/ckpt_flip.h5: dataset ${WEIGHT}: CRC-32 mismatch" both)
pg_bad_ckpt(missing_tensor ${BAD}/ckpt_missing.h5 "${BAD}/ckpt_missing.h5: dataset ${WEIGHT} is missing" both)
pg_bad_ckpt(wrong_shape ${BAD}/ckpt_shape.h5 "${BAD}/ckpt_shape.h5: dataset ${WEIGHT} has shape (2, 3), expected (8, 32)" both)
pg_bad_ckpt(wrong_dtype ${BAD}/ckpt_dtype.h5 "${BAD}/ckpt_dtype.h5: dataset ${WEIGHT} is not float32" both)
pg_bad_ckpt(no_crc ${BAD}/ckpt_nocrc.h5 "${BAD}/ckpt_nocrc.h5: dataset ${WEIGHT} has no crc32 attribute" both)
pg_bad_ckpt(not_hdf5 ${BAD}/ckpt_text.h5 "${BAD}/ckpt_text.h5: not an HDF5 file" both)
pg_bad_ckpt(empty_file ${BAD}/ckpt_empty.h5 "${BAD}/ckpt_empty.h5: not an HDF5 file" both)
pg_bad_ckpt(missing_attribute ${BAD}/ckpt_no_step.h5 "${BAD}/ckpt_no_step.h5: root attribute 'step' is missing or not an integer" both)
pg_bad_ckpt(attribute_type ${BAD}/ckpt_step_text.h5 "${BAD}/ckpt_step_text.h5: root attribute 'step' is missing or not an integer" verify)
pg_bad_ckpt(not_pipegrid ${BAD}/ckpt_no_format.h5 "${BAD}/ckpt_no_format.h5: not a pipegrid checkpoint" both)
pg_bad_ckpt(newer_format ${BAD}/ckpt_newer.h5 "${BAD}/ckpt_newer.h5: format version 99 is newer" resume)
pg_bad_ckpt(negative_step ${BAD}/ckpt_negative_step.h5 "${BAD}/ckpt_negative_step.h5: root attribute 'step' = -4 lies outside" both)
pg_bad_ckpt(optimizer_step ${BAD}/ckpt_optim_step.h5 "${BAD}/ckpt_optim_step.h5: root attribute 'optimizer_step' = -7 lies outside" resume)
pg_bad_ckpt(bad_config ${BAD}/ckpt_bad_config.h5 "${BAD}/ckpt_bad_config.h5: attribute config:1: malformed line" both)
pg_bad_ckpt(huge_config ${BAD}/ckpt_huge_config.h5 "${BAD}/ckpt_huge_config.h5: root attributes: CRC-32 mismatch" verify)
pg_bad_ckpt(unexpected_dataset ${BAD}/ckpt_extra.h5 "${BAD}/ckpt_extra.h5: unexpected dataset /params/stray" both)
pg_bad_ckpt(nan_tensor ${BAD}/ckpt_nan.h5 "${BAD}/ckpt_nan.h5: dataset /params/layers.0.weight holds NaN/Inf (element 0)" both)
pg_bad_ckpt(step_changed ${BAD}/ckpt_step6.h5 "${BAD}/ckpt_step6.h5: root attributes: CRC-32 mismatch" both)
pg_bad_ckpt(no_latest ${BAD}/nolatest "cannot open '${BAD}/nolatest/latest'" both)
pg_bad_ckpt(latest_names_missing ${BAD}/badlatest "${BAD}/badlatest/latest names '${BAD}/badlatest/step_00000099.h5', which cannot be read" both)
pg_bad_gen(ckpt_resume_config_mismatch 2 "${BAD}/ckpt/step_00000002.h5: model.layers differs: checkpoint has 'linear:8 relu linear:4 mse', this run 'linear:8 linear:4 mse'"
           train --config cli/bad/tiny_mlp.ini --set "model.layers=linear:8 linear:4 mse" --pp 2
           --set checkpoint.dir=${BAD}/ckpt --resume latest)
pg_bad_gen(ckpt_resume_optimizer_mismatch 2 "${BAD}/ckpt/step_00000002.h5: optim.name differs: checkpoint has 'adamw', this run 'sgd'"
           train --config cli/bad/tiny_mlp.ini --set optim.name=sgd --pp 2
           --set checkpoint.dir=${BAD}/ckpt --resume ${BAD}/ckpt)

# --- topology XML ---
pg_bad_input(topo_empty_xml 0 "topology file 'cli/bad/topology_empty.xml': not a valid hwloc XML"
             topo --xml cli/bad/topology_empty.xml)
pg_bad_input(topo_not_hwloc_xml 0 "topology file 'cli/bad/topology_not_hwloc.xml': not a valid hwloc XML"
             topo --xml cli/bad/topology_not_hwloc.xml)
pg_bad_input(topo_xml_directory 0 "topology file 'cli/bad': not a valid hwloc XML" topo --xml cli/bad)
pg_bad_input(topo_xml_no_gpu 0 "topology cli/bad/topology_no_gpu.xml: --device cuda, but hwloc finds no NVIDIA GPU"
             topo --xml cli/bad/topology_no_gpu.xml --device cuda)

# --- command lines ---
pg_bad_input(topo_unknown_option 0 "unknown option '--bogus' (see pipegrid topo --help)" topo --bogus)
pg_bad_input(topo_bad_nodes 0 "--nodes: expected an integer in [1, 1000000], got '0'" topo --nodes 0)
pg_bad_input(topo_bad_device 0 "--device: runtime.device: unknown device 'tpu' (expected auto, cpu or cuda)" topo --device tpu)
pg_bad_input(schedule_unknown_option 0 "unknown option '--bogus' (see pipegrid schedule --help)" schedule --bogus)
# the same message as train --pp 0 (one option table, one key table)
pg_bad_input(schedule_pp_zero 0 "--pp: parallel.pp: must be >= 1, got 0" schedule --pp 0)
pg_bad_input(train_pp_zero 2 "--pp: parallel.pp: must be >= 1, got 0" train --pp 0)
pg_bad_input(schedule_mb_overflow 0 "--microbatches: train.microbatches: must lie in [1, 2147483647], got 99999999999"
             schedule -m 99999999999)
pg_bad_input(train_steps_overflow 2 "--steps: train.steps: must lie in [0, 2147483647], got 99999999999" train --steps 99999999999)
pg_bad_input(train_microbatches_fraction 2 "train.microbatches: expected an integer, got '1.5'" train -m 1.5)
pg_bad_input(train_unexpected_argument 2 "unexpected argument 'extra'" train extra)
pg_bad_input(train_resume_needs_value 2 "option '--resume' needs a value" train --resume)
pg_bad_input(train_set_no_equals 2 "--set 'model.layers': expected section.key=value" train --set model.layers)
pg_bad_input(train_resume_nothing 2 "--resume latest: no checkpoint to resume: cannot open 'cli/bad/no_ckpt/latest'"
             train --resume latest --set checkpoint.dir=cli/bad/no_ckpt)
pg_bad_input(prep_default_and_files 0 "prep needs -o OUT.h5 and either text files or --default"
             prep --default cli/bad/no_loss.ini -o cli/bad/out.h5)
pg_bad_input(prep_missing_input 0 "cannot open 'cli/bad/nope.txt'" prep cli/bad/nope.txt -o cli/bad/out.h5)
# --- token files of other tools (prep --from; generated by bad_setup.sh),
# written over a good dataset that must stay unchanged ---
function(pg_bad_tok name expected file)
  pg_bad_gen(tok_${name} 0 "${expected}" prep --from ${BAD}/tok/${file} --vocab 50257
             -o ${BAD}/data/good.h5)
endfunction()
pg_bad_tok(bin_odd "${BAD}/tok/odd.bin: 5 bytes, an odd size for uint16 tokens" odd.bin)
pg_bad_tok(llmc_version "${BAD}/tok/llmc_version.bin: llm.c header version 2 (expected 1: uint16 tokens)"
           llmc_version.bin)
pg_bad_tok(llmc_count "${BAD}/tok/llmc_count.bin: llm.c header declares 100 tokens (200 bytes), the file holds 8 bytes after the header"
           llmc_count.bin)
pg_bad_tok(llmc_short "${BAD}/tok/llmc_short.bin: llm.c header truncated" llmc_short.bin)
pg_bad_tok(bin_big_id "${BAD}/tok/big_id.bin: token 2 is 60000, outside the vocabulary" big_id.bin)
pg_bad_tok(bin_empty "${BAD}/tok/empty.bin: holds no tokens" empty.bin)
pg_bad_tok(npy_float "${BAD}/tok/float.npy: .npy dtype '<f4' (expected '<u2' uint16 or '<i4' int32)" float.npy)
pg_bad_tok(npy_int64 "${BAD}/tok/int64.npy: .npy dtype '<i8'" int64.npy)
pg_bad_tok(npy_matrix "${BAD}/tok/matrix.npy: .npy shape (2, 3) (expected a 1-D array, (N,))" matrix.npy)
pg_bad_tok(npy_big_id "${BAD}/tok/big_id.npy: token 2 is 60000, outside the vocabulary" big_id.npy)
pg_bad_tok(npy_cut "${BAD}/tok/cut.npy: .npy shape (4,) of '<i4' needs 16 data bytes, the file has 13" cut.npy)
pg_bad_tok(npy_version "${BAD}/tok/version.npy: .npy format version 9.0 (expected 1, 2 or 3)" version.npy)
pg_bad_tok(missing "cannot open '${BAD}/tok/nope.bin'" nope.bin)
pg_bad_input(prep_from_no_vocab 0 "prep --from FILE needs -o OUT.h5 and --vocab V"
             prep --from cli/bad/no_loss.ini -o cli/bad/out.h5)

# --- Hugging Face GPT-2 directories (train --init-from; generated by
# bad_setup.sh) and export ---
function(pg_bad_hf name expected dir)
  pg_bad_gen(hf_${name} 2 "${expected}" train --pp 2 --init-from ${BAD}/${dir} --steps 1 ${ARGN})
endfunction()
pg_bad_hf(relu "${BAD}/hf_relu/config.json: activation_function: pipegrid's GPT uses the tanh GELU (gelu_new), got relu" hf_relu)
pg_bad_hf(eps "${BAD}/hf_eps/config.json: layer_norm_epsilon: pipegrid's LayerNorm uses 1e-05, got 1e-06" hf_eps)
pg_bad_hf(llama "${BAD}/hf_llama/config.json: model_type: expected \"gpt2\"" hf_llama)
pg_bad_hf(inner "${BAD}/hf_inner/config.json: n_inner: pipegrid's MLP is 4 x n_embd = 32 wide, got 24" hf_inner)
pg_bad_hf(missing_tensor "${BAD}/hf_missing_tensor/model.safetensors: no tensor 'transformer.h.0.mlp.c_fc.weight'" hf_missing_tensor)
pg_bad_hf(shape "${BAD}/hf_shape/model.safetensors: tensor 'transformer.h.0.attn.c_attn.weight' has the wrong shape (expected (8, 24))" hf_shape)
pg_bad_hf(f16 "${BAD}/hf_f16/model.safetensors: tensor 'transformer.wte.weight' is F16 (pipegrid reads F32 tensors)" hf_f16)
pg_bad_hf(no_weights "cannot open '${BAD}/hf_no_weights/model.safetensors'" hf_no_weights)
pg_bad_hf(no_config "cannot open Hugging Face config '${BAD}/hf_no_config/config.json'" hf_no_config)
pg_bad_hf(bad_json "${BAD}/hf_bad_json/config.json: not a JSON object" hf_bad_json)
pg_bad_hf(truncated "${BAD}/hf_truncated/model.safetensors: not a safetensors file (header length" hf_truncated)
pg_bad_hf(text_weights "${BAD}/hf_text_weights/model.safetensors: not a safetensors file" hf_text_weights)
pg_bad_hf(width_conflict "${BAD}/hf_good/config.json: n_embd = 8, but model.width = 16" hf_good --set model.width=16)
pg_bad_hf(ctx_too_long "${BAD}/hf_good/config.json: n_positions = 8, fewer than model.ctx = 16" hf_good --set model.ctx=16)
pg_bad_gen(export_mlp 0 "export --format hf needs a gpt model, the checkpoint's is model.type=mlp"
           export ${BAD}/ckpt --format hf -o ${BAD}/hf_export_out)
pg_bad_gen(export_corrupt 0 "${BAD}/ckpt_flip.h5: dataset /params/layers.0.weight: CRC-32 mismatch"
           export ${BAD}/ckpt_flip.h5 --format hf -o ${BAD}/hf_export_out)
pg_bad_input(export_format 0 "--format: unknown format 'onnx' (expected hf)" export x.h5 --format onnx -o out)
pg_bad_input(export_no_output 0 "export needs one CKPT, --format hf and -o DIR" export x.h5 --format hf)

# --- BPE tokenizers (prep --tokenizer; generated by bad_setup.sh), written
# over a good dataset that must stay unchanged ---
function(pg_bad_bpe name expected json)
  pg_bad_gen(bpe_${name} 0 "${expected}" prep cli/bad/no_loss.ini --tokenizer ${BAD}/bpe/${json}
             -o ${BAD}/data/good.h5 ${ARGN})
endfunction()
pg_bad_bpe(not_json "${BAD}/bpe/not_json.json: not a JSON object" not_json.json)
pg_bad_bpe(wordpiece "${BAD}/bpe/wordpiece.json: model.type: expected \"BPE\"" wordpiece.json)
pg_bad_bpe(bad_merge "${BAD}/bpe/bad_merge.json: model.merges[0]: \"zz\" is not in the vocabulary" bad_merge.json)
pg_bad_bpe(no_byte "${BAD}/bpe/no_byte.json: model.vocab lacks the token of byte 65" no_byte.json)
pg_bad_bpe(normalizer "${BAD}/bpe/normalizer.json: normalizer: only null is supported" normalizer.json)
pg_bad_bpe(whitespace "${BAD}/bpe/whitespace.json: pre_tokenizer: expected ByteLevel" whitespace.json)
pg_bad_bpe(added "${BAD}/bpe/added.json: added_tokens: not supported" added.json)
pg_bad_bpe(dropout "${BAD}/bpe/dropout.json: model.dropout: only null is supported" dropout.json)
pg_bad_bpe(missing "cannot open tokenizer file '${BAD}/bpe/nope.json'" nope.json)
pg_bad_bpe(vocab_small "--vocab 100 is smaller than the tokenizer's vocabulary of" good.json --vocab 100)
pg_bad_gen(bpe_not_utf8 0 "${BAD}/bpe/latin1.txt: not UTF-8 text (byte 3)"
           prep ${BAD}/bpe/latin1.txt --tokenizer ${BAD}/bpe/good.json -o ${BAD}/data/good.h5)
pg_bad_gen(sample_bad_tokenizer 0 "${BAD}/bpe/wordpiece.json: model.type"
           sample ${BAD}/hf_good --tokenizer ${BAD}/bpe/wordpiece.json)

# --- pipegrid sample ---
pg_bad_gen(sample_mlp 0 "sample needs a gpt, the checkpoint's model is model.type=mlp" sample ${BAD}/ckpt)
pg_bad_gen(sample_corrupt 0 "${BAD}/ckpt_flip.h5: dataset /params/layers.0.weight: CRC-32 mismatch"
           sample ${BAD}/ckpt_flip.h5)
pg_bad_gen(sample_hf_relu 0 "${BAD}/hf_relu/config.json: activation_function" sample ${BAD}/hf_relu)
pg_bad_gen(sample_too_many_ranks 3 "sample on 3 ranks needs at least 3 blocks, the model has 2 (model.depth)"
           sample ${BAD}/hf_good)
pg_bad_input(sample_no_src 0 "sample needs one SRC" sample)
pg_bad_input(sample_missing 0 "cannot open 'cli/bad/nope_ckpt'" sample cli/bad/nope_ckpt)
pg_bad_input(sample_temperature 0 "--temperature: expected a number in [0, 100], got '-1'"
             sample x --temperature -1)
pg_bad_input(sample_tokens 0 "--tokens: expected an integer in [1, 10000000], got 'many'" sample x -n many)
pg_bad_input(sample_unknown_option 0 "unknown option '--greedy'" sample x --greedy)

pg_bad_input(prep_vocab_zero 0 "--vocab: expected an integer in [1, 16777216], got '0'" prep --vocab 0 --check x.h5)
pg_bad_input(ckpt_unknown_action 0 "ckpt: unknown action 'repair'" ckpt repair x.h5)
pg_bad_input(ckpt_inspect_two_paths 0 "ckpt inspect: expected one PATH" ckpt inspect a.h5 b.h5)
pg_bad_input(ckpt_verify_no_path 0 "ckpt verify: expected at least one PATH" ckpt verify)
pg_bad_input(ckpt_verify_missing 0 "cannot open 'cli/bad/nope.h5'" ckpt verify cli/bad/nope.h5)
# sizes that would run for minutes (10^10 schedule cells ran until killed)
pg_bad_input(schedule_too_large 0 "schedule: pp=100000 and stages x microbatches = 100000 x 100000 are too large"
             schedule --pp 100000 -m 100000)
pg_bad_input(topo_too_large 0 "schedule: pp=1000000 and stages x microbatches = 1000000 x 4 are too large"
             topo --xml topologies/hwloc-nvidiaDGX2.xml --nodes 1000000 --pp 1000000)
