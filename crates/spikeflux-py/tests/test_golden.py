"""Network.forward_tape / Tape.backward (what spikeflux.torch runs) against the golden values of the
independent PyTorch reference, the loss written in NumPy: readout traces, spike counts, losses and
every weight gradient to 1e-4 relative."""

import numpy as np
import pytest

import golden


@pytest.mark.parametrize("case", golden.cases(), ids=lambda c: c["name"])
def test_tape_gradients_match_the_reference(case):
    net = golden.network(case)
    x, _ = golden.inputs(case)
    tape = net.forward_tape(x, counts=case.get("counts", False))
    readout, counts = tape.readout(), tape.counts()
    golden.close(readout, case["readout"], "readout")
    assert [c.sum() for c in counts] == case["spike_counts"]
    ce, reg, g, gc = golden.loss_and_seeds(case, readout, counts)
    assert abs(ce - case["ce"]) <= 1e-4 * abs(case["ce"])
    assert abs(reg - case["reg"]) <= 1e-4 * abs(case["reg"]) + 1e-9
    grads = dict(zip(net.tensor_names, tape.backward(g, gc)))
    assert grads.keys() == case["grads"].keys()
    for name, want in case["grads"].items():
        assert grads[name].shape == np.shape(want)
        golden.close(grads[name], want, name)


def test_golden_cases_cover_every_layer_kind():
    names = [c["name"] for c in golden.cases()]
    assert names == ["ff-2layer", "recurrent-adaptive", "sum-and-last", "last-step", "rcsnn-small",
                     "ff-2layer-nir", "recurrent-nir", "recurrent-snntorch", "rcsnn-small-nir",
                     "conv2d-counts", "dvs-like"]


def test_the_tape_equals_loss_and_grad_and_run():
    case = golden.cases()[0]
    net = golden.network(case)
    x, y = golden.inputs(case)
    tape = net.forward_tape(x)
    ce, reg, g, gc = golden.loss_and_seeds(case, tape.readout(), tape.counts())
    loss, want = net.loss_and_grad(x, list(y))
    assert abs(loss - (ce + reg)) < 1e-6 * loss
    for name, got in zip(net.tensor_names, tape.backward(g, gc)):
        np.testing.assert_allclose(got, want[name], rtol=1e-5, atol=1e-7 * np.abs(want[name]).max())
    rec = net.run(x, record=True)
    np.testing.assert_array_equal(rec["readout"], tape.readout())
    for a, b, s in zip(rec["counts"], tape.counts(), rec["spikes"]):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(s.sum(axis=1), a)


def test_tape_refuses_wrong_shapes():
    import spikeflux
    case = golden.cases()[0]
    net = golden.network(case)
    x, _ = golden.inputs(case)
    tape = net.forward_tape(x)
    with pytest.raises(spikeflux.ShapeError, match="readout gradient"):
        tape.backward(np.zeros((1, 2, 3)))
    with pytest.raises(spikeflux.ShapeError, match="weight arrays"):
        net.forward_tape(x, [np.zeros((8, 6))])
    with pytest.raises(spikeflux.ShapeError, match="hidden.0.ff.weight"):
        net.forward_tape(x, [np.zeros((8, 5)), np.zeros((5, 8)), np.zeros((3, 5))])


def test_inputs_of_every_dtype_give_the_same_events_and_non_spikes_are_refused():
    import spikeflux
    case = golden.cases()[0]
    net = golden.network(case)
    x, _ = golden.inputs(case)
    want = net.run(x)
    for a in (x.astype(bool), x.astype(np.float32), x.astype(np.float64), x.astype(np.int32), -0.0 + x.astype(np.float32)):
        np.testing.assert_array_equal(net.run(a), want)
    for bad, shown in ((2, "2"), (0.5, "0.5"), (np.nan, "NaN")):
        y = x.astype(np.float32)
        y[1, 7, 3] = bad
        with pytest.raises(ValueError, match=f"sample 1, step 7, channel 3 holds {shown}"):
            net.run(y)
    y = x.copy()
    y[0, 2, 1] = 3
    with pytest.raises(ValueError, match="sample 0, step 2, channel 1 holds 3"):
        net.forward_tape(y)
    with pytest.raises(spikeflux.ShapeError, match="channels"):
        net.run(x[:, :, :5])


def test_per_sample_event_arrays_run_as_their_dense_raster():
    import spikeflux
    case = golden.cases()[1]
    net = golden.network(case)
    x, y = golden.inputs(case)
    events = []
    for sample in x:
        steps, units = np.nonzero(sample)
        events.append(((steps + 0.5) * net.dt, units))
    np.testing.assert_array_equal(net.run(events, n_steps=case["T"]), net.run(x))
    np.testing.assert_array_equal(net.forward_tape(events, n_steps=case["T"]).readout(), net.forward_tape(x).readout())
    assert net.loss_and_grad(events, list(y), n_steps=case["T"])[0] == net.loss_and_grad(x, list(y))[0]
    with pytest.raises(spikeflux.ShapeError, match="need n_steps"):
        net.run(events)
    with pytest.raises(spikeflux.ShapeError, match="input 0: 2 times for 1 units"):
        net.run([(np.zeros(2), np.zeros(1, dtype=np.uint32))], n_steps=5)


def test_event_counts_are_read_only_with_counts_true():
    case = next(c for c in golden.cases() if c.get("counts"))
    net = golden.network(case)
    x, y = golden.inputs(case)
    assert x.max() > 1
    with pytest.raises(ValueError, match="pass counts=True"):
        net.run(x)
    want = net.run(x, counts=True)
    for a in (x.astype(np.float32), x.astype(np.int64), x.astype(np.float64)):
        np.testing.assert_array_equal(net.run(a, counts=True), want)
    # the same events as per-sample (times, units) arrays, each repeat listed: they add up only with counts
    events = []
    for sample in x:
        steps, units = np.nonzero(sample)
        reps = sample[steps, units]
        events.append((np.repeat((steps + 0.5) * net.dt, reps), np.repeat(units, reps).astype(np.uint32)))
    np.testing.assert_array_equal(net.run(events, n_steps=case["T"], counts=True), want)
    np.testing.assert_array_equal(net.run(events, n_steps=case["T"]), net.run(np.minimum(x, 1)))
    assert net.loss_and_grad(x, list(y), counts=True)[0] != net.loss_and_grad(np.minimum(x, 1), list(y))[0]
    for bad, shown in ((256, "256"), (0.5, "0.5"), (-1, "-1"), (np.nan, "NaN")):
        z = x.astype(np.float32)
        z[1, 4, 2] = bad
        with pytest.raises(ValueError, match=f"whole numbers 0 to 255; sample 1, step 4, channel 2 holds {shown}"):
            net.run(z, counts=True)
