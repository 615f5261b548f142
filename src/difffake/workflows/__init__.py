"""The use cases of difffake as Python functions: typed inputs, typed results, all the work.

    from difffake.workflows import prepare, fit, scan, train
    summary = prepare.prepare(["videos/"], "store", FaceConfig())

`difffake.commands` only parses arguments, shows progress and prints what these return.
Submodules are imported on use: `import difffake.workflows` loads no torch.
"""
