"""The API as an editor and a reader see it: the type stubs agree with the native module's own
signatures, every public function documents its shapes and has examples, and the examples run."""

import ast
import inspect
import pathlib

import deepemd
from deepemd import _native

STUBS = pathlib.Path(deepemd.__file__).with_name("_native.pyi")


def stub_functions():
    tree = ast.parse(STUBS.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_the_stubs_are_installed_with_the_package():
    assert STUBS.exists() and STUBS.with_name("py.typed").exists()


def test_every_native_function_has_a_stub_with_its_parameters_and_defaults():
    stubs = stub_functions()
    natives = {n for n in dir(_native) if callable(getattr(_native, n)) and not n[0].isupper()}
    assert natives == set(stubs), natives ^ set(stubs)
    for name, stub in stubs.items():
        real = inspect.signature(getattr(_native, name))
        args = stub.args
        stub_params = [a.arg for a in args.posonlyargs + args.args] + [a.arg for a in args.kwonlyargs]
        assert stub_params == list(real.parameters), name
        kinds = {p.name: p.kind for p in real.parameters.values()}
        assert all(kinds[a.arg] == inspect.Parameter.KEYWORD_ONLY for a in args.kwonlyargs), name
        defaults = dict(zip([a.arg for a in args.args][::-1], args.defaults[::-1]))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        for param, node in defaults.items():
            assert ast.literal_eval(node) == real.parameters[param].default, (name, param)


def test_every_public_function_documents_parameters_returns_and_examples():
    for name in ["emd", "emd_batch", "gen_metrics", "load_model"]:
        doc = getattr(deepemd, name).__doc__
        for section in ["Parameters", "Returns", "Examples", ">>>"]:
            assert section in doc, (name, section)
    assert ">>>" in deepemd.read_cloud.__doc__
    assert "Attributes" in deepemd.EmdResult.__doc__ and "Attributes" in deepemd.EmdBatch.__doc__
    assert "see the package documentation" not in deepemd.emd.__doc__


def test_the_docstring_examples_run():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "run_docstring_examples", pathlib.Path(__file__).with_name("run_docstring_examples.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failed, examples = module.run()
    assert failed == 0 and examples >= 15, (failed, examples)
