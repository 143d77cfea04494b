"""Runs the examples (``>>>`` lines) of every public docstring of the installed ``deepemd``
and fails on the first that does not give its documented output. `cargo xtask test` runs it in
a fresh venv holding only the wheel and its dependencies (no torch, no scipy, no source tree);
``test_api.py`` runs it under pytest too."""

import doctest
import sys


def public_docstrings():
    import deepemd

    yield "deepemd", deepemd.__doc__
    for name in deepemd.__all__:
        obj = getattr(deepemd, name)
        if getattr(obj, "__doc__", None) and not isinstance(obj, str):
            yield f"deepemd.{name}", obj.__doc__


def run():
    import deepemd

    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = 0
    for name, doc in public_docstrings():
        test = parser.get_doctest(doc, {"deepemd": deepemd}, name, None, 0)
        examples += len(test.examples)
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    print(f"deepemd {deepemd.__version__}: {attempted} docstring examples, {failed} failed")
    return failed, examples


if __name__ == "__main__":
    failed, examples = run()
    sys.exit(1 if failed or examples == 0 else 0)
