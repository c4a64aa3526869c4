package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// interneuronRule returns the interneuron rule of s.
func interneuronRule(s *onlineState) *interneuronOnline { return s.rule.(*interneuronOnline) }

// inverseDrift returns max |(M⁻¹_carried · M − I)_ij| for the interneuron
// network, with M = WᵀW computed afresh: how far the carried inverse has
// drifted since the last refresh.
func (o *interneuronOnline) inverseDrift() float64 {
	n := o.s.n
	m := newGeneral(n, n)
	blas64.Gemm(blas.Trans, blas.NoTrans, o.wScale*o.wScale, o.w, o.w, 0, m)
	prod := newGeneral(n, n)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, o.mScale, o.minv, m, 0, prod)
	var worst float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := prod.Data[i*n+j]
			if i == j {
				v--
			}
			worst = math.Max(worst, math.Abs(v))
		}
	}
	return worst
}
