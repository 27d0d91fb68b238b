"""The numbers the two papers report, which the experiments' tables stand beside.

Kept apart from the protocols (:mod:`.aml`, :mod:`.dpp`) and from the reporting module
(:mod:`.report`) that both read them, so that neither has to import the other.
"""

__all__ = ["AML_PAPER_TABLE1", "PAPER_GRID", "DPP_PAPER_TABLE1", "DPP_PAPER_TABLE6", "RETRIEVAL_KS"]

#: 5-NN error reported in the AML paper's Table 1 (AML, GMML, ITML, LMNN).
AML_PAPER_TABLE1 = {
    "breast_cancer_wisconsin": {"AML": 0.044, "GMML": 0.040, "ITML": 0.073, "LMNN": 0.052},
    "vehicle": {"AML": 0.203, "GMML": 0.235, "ITML": 0.301, "LMNN": 0.234},
    "german_credit_numeric": {"AML": 0.251, "GMML": 0.273, "ITML": 0.292, "LMNN": 0.274},
    "image_segment": {"AML": 0.024, "GMML": 0.031, "ITML": 0.051, "LMNN": 0.027},
    "mnist": {"AML": 0.105, "GMML": 0.120, "ITML": 0.143, "LMNN": 0.174},
}

#: The paper's Table 1 (MNIST, mAP@10, 20, 50, 100 in %), per variant.
DPP_PAPER_TABLE1 = {
    "baseline": (63.90, 62.87, 61.43, 58.65),
    "DPPSG": (67.22, 67.45, 65.82, 62.78),
    "DPPSG*": (67.94, 68.73, 66.32, 62.75),
    "DPPSG+WGAN": (68.07, 69.34, 66.19, 63.40),
    "DPPSG*+WGAN": (69.14, 70.32, 68.04, 64.58),
}

#: The paper's Table 6 (CIFAR-10 hashing network on a GTX 1080 GPU): seconds per batch,
#: (overhead-all, overhead-DPP), per batch size.
DPP_PAPER_TABLE6 = {
    100: (0.175, 0.011),
    200: (0.263, 0.029),
    250: (0.308, 0.033),
    400: (0.411, 0.042),
    500: (0.493, 0.056),
}

#: Cut-offs K of mAP@K.
RETRIEVAL_KS = (10, 20, 50, 100)

#: The paper's tuning grid for α and β (Sec. 3.2).
PAPER_GRID = tuple(10.0**k for k in range(-3, 4))
